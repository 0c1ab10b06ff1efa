"""Applications to become a distributor (分销商申请) and their review.

A review claims the pending application under its row lock, so approving or
rejecting twice (also concurrently) decides once.
"""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications.models import Kind
from notifications.services import notify, sms_outcome

from . import selectors
from .models import Distributor, DistributorApplication, NetworkSettings
from .network import AlreadyDistributor, DistributorError, UnknownInviteCode, join_network


class ApplicationPending(DistributorError):
    pass


class ApplicationAlreadyReviewed(DistributorError):
    pass


class ReferrerSuspended(DistributorError):
    pass


@transaction.atomic
def apply_to_join(
    user,
    *,
    name: str,
    phone: str,
    reason: str = "",
    invite_code: str = "",
    now: datetime | None = None,
) -> DistributorApplication:
    """Record `user`'s application to become a distributor; approve it at once
    when the network settings say so.

    Refuses, changing nothing: a user who already is a distributor
    (AlreadyDistributor), one with an application still waiting
    (ApplicationPending, also for two concurrent submits: a partial unique
    constraint backs the check), and an invite code that names no active
    distributor (UnknownInviteCode).
    """
    if Distributor.objects.filter(user=user).exists():
        raise AlreadyDistributor(_("You are already a distributor."))
    if DistributorApplication.objects.filter(
        user=user, status=DistributorApplication.Status.PENDING
    ).exists():
        raise ApplicationPending(_("Your application is already waiting for review."))
    code = invite_code.strip().upper()
    referrer = None
    if code:
        referrer = selectors.distributor_by_code(code)
        if referrer is None:
            raise UnknownInviteCode(_("This invite code does not exist."))
    try:
        with transaction.atomic():
            application = DistributorApplication.objects.create(
                user=user,
                name=name.strip(),
                phone=phone.strip(),
                reason=reason.strip(),
                invite_code=code,
                referrer=referrer,
                created_at=now or timezone.now(),
            )
    except IntegrityError:
        raise ApplicationPending(_("Your application is already waiting for review.")) from None
    if NetworkSettings.get_solo().auto_approve:
        application = approve_application(application, reviewer=None, now=now)
    return application


def _locked_pending(application: DistributorApplication) -> DistributorApplication:
    application = (
        DistributorApplication.objects.select_for_update(of=("self",))
        .select_related("referrer", "user")
        .get(pk=application.pk)
    )
    if not application.is_pending:
        raise ApplicationAlreadyReviewed(
            _("The application of %(name)s was already reviewed.") % {"name": application.name}
        )
    return application


@transaction.atomic
def approve_application(
    application: DistributorApplication, *, reviewer, note: str = "", now: datetime | None = None
) -> DistributorApplication:
    """Make the applicant a distributor under their referrer (join_network), once.

    Locks the application row: a second approval, also a concurrent one, raises
    ApplicationAlreadyReviewed. `reviewer` None means approved automatically.
    """
    application = _locked_pending(application)
    referrer = application.referrer
    if referrer is not None and not referrer.is_active:
        raise ReferrerSuspended(
            _(
                "%(referrer)s, who invited %(name)s, is suspended: reactivate them "
                "or reject the application."
            )
            % {"referrer": referrer.invite_code, "name": application.name}
        )
    distributor = join_network(
        application.user, invite_code=referrer.invite_code if referrer else None
    )
    application.status = DistributorApplication.Status.APPROVED
    application.distributor = distributor
    _stamp_review(application, reviewer=reviewer, note=note, now=now)
    _tell_decided(application)
    return application


@transaction.atomic
def reject_application(
    application: DistributorApplication, *, reviewer, note: str = "", now: datetime | None = None
) -> DistributorApplication:
    """Turn an application down, once; the applicant may apply again later."""
    application = _locked_pending(application)
    application.status = DistributorApplication.Status.REJECTED
    _stamp_review(application, reviewer=reviewer, note=note, now=now)
    _tell_decided(application)
    return application


def _stamp_review(application, *, reviewer, note: str, now: datetime | None) -> None:
    application.reviewed_by = reviewer
    application.reviewed_at = now or timezone.now()
    application.review_note = note[:255]
    application.save(
        update_fields=["status", "distributor", "reviewed_by", "reviewed_at", "review_note"]
    )


def _tell_decided(application: DistributorApplication) -> None:
    """Tell the applicant the decision (key application:<id>:decided), in its transaction."""
    approved = application.status == DistributorApplication.Status.APPROVED
    notify(
        application.user,
        Kind.APPLICATION_DECIDED,
        key=f"application:{application.pk}:decided",
        context={"application": application, "approved": approved},
        link=reverse("distributors:dashboard" if approved else "distributors:join"),
        data={"application": application.pk},
        sms_params={"name": application.name, "result": sms_outcome(approved)},
    )
