"""Writes to the distributor network. Every structural write holds the tree lock.

Status and grade change by queryset updates under a row lock or a
conditional claim, never by saving a Distributor (whose save() is django-mptt's
tree machinery), and each change leaves a record of who made it and when.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import outbox
from core.locks import lock_tree
from orders.models import Order

from . import selectors, tree
from .models import (
    CustomerBinding,
    Distributor,
    DistributorApplication,
    DistributorMove,
    DistributorStatusChange,
    Grade,
    GradeChange,
    NetworkSettings,
)
from .selectors import is_in_subtree


class DistributorError(Exception):
    """A request to the network that cannot be honoured; the message is for people."""


class AlreadyDistributor(DistributorError):
    pass


class UnknownInviteCode(DistributorError):
    pass


class ApplicationPending(DistributorError):
    pass


class ApplicationAlreadyReviewed(DistributorError):
    pass


class ReferrerSuspended(DistributorError):
    pass


class InvalidStatusChange(DistributorError):
    pass


@transaction.atomic
def join_network(user, *, invite_code: str | None = None) -> Distributor:
    """Make `user` a distributor, under the owner of `invite_code` if given.

    The new member is inserted unplaced (see distributors.tree): the join
    touches no other row, so it stays fast however large the network, and the
    nested set is renumbered in the background. Raises AlreadyDistributor if
    the user already is one and UnknownInviteCode for a code that names nobody
    active.
    """
    if Distributor.objects.filter(user=user).exists():
        raise AlreadyDistributor(_("You are already a distributor."))
    parent = None
    if invite_code:
        parent = Distributor.objects.filter(
            invite_code=invite_code.strip().upper(), status=Distributor.Status.ACTIVE
        ).first()
        if parent is None:
            raise UnknownInviteCode(_("This invite code does not exist."))
        if parent.user_id == user.pk:
            raise UnknownInviteCode(_("You cannot use your own invite code."))
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return tree.insert_node(user, parent)
        except IntegrityError:
            # An invite-code collision (31^8 codes) or a concurrent join of the
            # same user; the second is final.
            if Distributor.objects.filter(user=user).exists():
                raise AlreadyDistributor(_("You are already a distributor.")) from None
    raise DistributorError(_("Could not allocate an invite code; please try again."))


class InvalidMove(DistributorError):
    pass


@transaction.atomic
def move_distributor(distributor: Distributor, new_parent: Distributor | None, *, actor, reason=""):
    """Move a distributor (with everyone below them) under `new_parent`.

    Holds the lock of every tree involved, refuses a move under the
    distributor's own subtree (a cycle), records the move, and places the
    trees at once. Orders already placed keep their referral-chain snapshot,
    so their commissions do not change.
    """
    distributor = Distributor.objects.get(pk=distributor.pk)
    old_tree = distributor.tree_id
    new_tree = new_parent.tree_id if new_parent else None
    for tree_id in sorted({old_tree, new_tree} - {None}):
        lock_tree(tree.tree_lock_name(tree_id))
    if new_parent is not None and is_in_subtree(new_parent.pk, distributor.pk):
        raise InvalidMove(_("A distributor cannot be moved under themselves or their own team."))
    if new_parent is None and distributor.parent_id is None:
        raise InvalidMove(_("This distributor is already at the top of a network."))
    if new_parent is not None and new_parent.pk == distributor.parent_id:
        raise InvalidMove(_("This distributor is already under that recruiter."))
    DistributorMove.objects.create(
        distributor=distributor,
        from_parent_id=distributor.parent_id,
        to_parent=new_parent,
        actor=actor,
        reason=reason[:255],
    )
    tree.reparent(distributor, new_parent)
    distributor.refresh_from_db()
    for tree_id in sorted({old_tree, distributor.tree_id}):
        tree.place_nodes(tree_id)
    distributor.refresh_from_db()
    return distributor


# --- Applications (分销商申请) ---------------------------------------------------


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
    return application


@transaction.atomic
def reject_application(
    application: DistributorApplication, *, reviewer, note: str = "", now: datetime | None = None
) -> DistributorApplication:
    """Turn an application down, once; the applicant may apply again later."""
    application = _locked_pending(application)
    application.status = DistributorApplication.Status.REJECTED
    _stamp_review(application, reviewer=reviewer, note=note, now=now)
    return application


def _stamp_review(application, *, reviewer, note: str, now: datetime | None) -> None:
    application.reviewed_by = reviewer
    application.reviewed_at = now or timezone.now()
    application.review_note = note[:255]
    application.save(
        update_fields=["status", "distributor", "reviewed_by", "reviewed_at", "review_note"]
    )


# --- Suspension -------------------------------------------------------------------


def suspend_distributor(
    distributor: Distributor, *, actor, reason: str = "", now: datetime | None = None
) -> DistributorStatusChange:
    """Suspend an active distributor: from now on they earn nothing new (accrual
    skips them, their link and bindings credit nobody); what they earned stays."""
    return _change_status(distributor, Distributor.Status.SUSPENDED, actor, reason, now)


def reactivate_distributor(
    distributor: Distributor, *, actor, reason: str = "", now: datetime | None = None
) -> DistributorStatusChange:
    """Let a suspended distributor earn again."""
    return _change_status(distributor, Distributor.Status.ACTIVE, actor, reason, now)


@transaction.atomic
def _change_status(distributor, to_status, actor, reason, now) -> DistributorStatusChange:
    # Claimed by a conditional update: of two concurrent suspensions one wins.
    from_status = (
        Distributor.Status.ACTIVE
        if to_status == Distributor.Status.SUSPENDED
        else Distributor.Status.SUSPENDED
    )
    claimed = Distributor.objects.filter(pk=distributor.pk, status=from_status).update(
        status=to_status
    )
    if not claimed:
        message = (
            _("%(distributor)s is already suspended.")
            if to_status == Distributor.Status.SUSPENDED
            else _("%(distributor)s is already active.")
        )
        raise InvalidStatusChange(message % {"distributor": distributor})
    distributor.status = to_status
    return DistributorStatusChange.objects.create(
        distributor=distributor,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        reason=reason[:255],
        created_at=now or timezone.now(),
    )


# --- Customer binding (推广关系) ----------------------------------------------------


@transaction.atomic
def resolve_attribution(
    user,
    referral_code: str,
    *,
    allow_self_purchase: bool,
    own_order_credits_recruiter: bool = False,
    now: datetime | None = None,
) -> Distributor | None:
    """The distributor an order of `user` is credited to, binding the customer
    by the merchant's rule on the way.

    - A buyer who is an active distributor is credited to themselves when
      `allow_self_purchase` (自购返佣). Otherwise, with
      `own_order_credits_recruiter`, they buy as a customer of their recruiter
      (the parent in the tree): credited to the recruiter if active, like a
      customer bound to them, else to nobody; without it, to nobody. No
      binding is made either way, and the referral link is ignored.
    - Any other buyer is a customer. `referral_code` (the link they came by, if
      any) binds them as NetworkSettings.binding_rule says:
      first referrer: the first binding holds for good;
      last referrer: a referral by someone else ends the binding and binds anew;
      expiring: a binding holds N days; a referral by the same distributor
      renews it, and once it lapsed the next referral binds anew.
      Bindings keep the terms they were made with when the rule changes.
    - A binding to a suspended distributor stays, but credits nobody while
      they are suspended (as their link does).

    A rebind ends the old CustomerBinding and creates a new one (history kept).
    Concurrent orders of one customer bind once: the open binding is locked,
    and a partial unique constraint decides between two first bindings.
    """
    now = now or timezone.now()
    own = Distributor.objects.filter(user=user).first()
    if own is not None and own.is_active:
        if allow_self_purchase:
            return own
        recruiter = own.parent if own_order_credits_recruiter else None
        return recruiter if recruiter is not None and recruiter.is_active else None
    referrer = selectors.distributor_by_code(referral_code)
    if referrer is not None and referrer.user_id == user.pk:
        referrer = None  # a suspended distributor's own code never resolves; belt and braces
    network = NetworkSettings.get_solo()
    for _attempt in range(3):
        binding = (
            CustomerBinding.objects.select_for_update(of=("self",))
            .select_related("distributor")
            .filter(customer=user, ended_at__isnull=True)
            .first()
        )
        try:
            with transaction.atomic():
                binding = _apply_binding_rule(network, user, binding, referrer, now)
        except _BindingRaced:
            continue
        if binding is None or not binding.distributor.is_active:
            return None
        return binding.distributor
    raise DistributorError(_("Could not record who referred you; please try again."))


class _BindingRaced(Exception):
    """A concurrent order of the same customer changed the binding first."""


def _apply_binding_rule(network, user, binding, referrer, now) -> CustomerBinding | None:
    """The binding in force after this referral (None: none), written as needed."""
    Rule = NetworkSettings.BindingRule
    in_force = binding is not None and binding.is_in_force(now)
    if referrer is None:
        return binding if in_force else None
    if in_force and binding.distributor_id == referrer.pk:
        if network.binding_rule == Rule.EXPIRING and binding.expires_at is not None:
            binding.expires_at = now + timedelta(days=network.binding_days)
            binding.save(update_fields=["expires_at"])
        return binding
    if in_force and network.binding_rule != Rule.LAST_REFERRER:
        return binding  # first referrer / unexpired binding: the newcomer does not take over
    if binding is not None:
        ended = CustomerBinding.objects.filter(pk=binding.pk, ended_at__isnull=True).update(
            ended_at=now
        )
        if not ended:
            raise _BindingRaced
    expires_at = (
        now + timedelta(days=network.binding_days)
        if network.binding_rule == Rule.EXPIRING
        else None
    )
    try:
        with transaction.atomic():
            return CustomerBinding.objects.create(
                customer=user,
                distributor=referrer,
                rule=network.binding_rule,
                bound_at=now,
                expires_at=expires_at,
            )
    except IntegrityError:
        raise _BindingRaced from None


# --- Grades (分销等级) ---------------------------------------------------------------


@transaction.atomic
def evaluate_grade(
    distributor: Distributor,
    *,
    reason: str = GradeChange.Reason.REVIEW,
    note: str = "",
    now: datetime | None = None,
) -> GradeChange | None:
    """Promote `distributor` to the highest grade whose rules they meet.

    Never demotes (only staff do, with set_grade). Suspended distributors are
    left as they are. Locks the distributor row, so concurrent evaluations
    promote once; returns the GradeChange made, or None.
    """
    return _evaluate_grade_of(distributor.pk, reason=reason, note=note, now=now)


def _evaluate_grade_of(pk: int, *, reason: str, note: str, now: datetime | None):
    distributor = (
        Distributor.objects.select_for_update(of=("self",)).select_related("grade").get(pk=pk)
    )
    if not distributor.is_active:
        return None
    current_rank = distributor.grade.rank if distributor.grade else -1
    higher = list(Grade.objects.filter(rank__gt=current_rank).order_by("-rank"))
    if not higher:
        return None
    figures = selectors.grade_figures(distributor)
    target = next((grade for grade in higher if figures.meet(grade)), None)
    if target is None:
        return None
    return _record_grade(distributor, target, reason, note, figures, actor=None, now=now)


@transaction.atomic
def set_grade(
    distributor: Distributor, grade: Grade | None, *, actor, note: str = ""
) -> GradeChange | None:
    """Staff set a grade by hand (also down); recorded like a promotion."""
    distributor = (
        Distributor.objects.select_for_update(of=("self",))
        .select_related("grade")
        .get(pk=distributor.pk)
    )
    if grade is None or distributor.grade_id == grade.pk:
        return None
    figures = selectors.grade_figures(distributor)
    return _record_grade(
        distributor, grade, GradeChange.Reason.STAFF, note, figures, actor=actor, now=None
    )


def _record_grade(distributor, grade, reason, note, figures, *, actor, now) -> GradeChange:
    Distributor.objects.filter(pk=distributor.pk).update(grade=grade)
    return GradeChange.objects.create(
        distributor=distributor,
        from_grade=distributor.grade,
        to_grade=grade,
        reason=reason,
        note=note[:255],
        personal_sales=figures.personal_sales,
        team_sales=figures.team_sales,
        direct_recruits=figures.direct_recruits,
        actor=actor,
        created_at=now or timezone.now(),
    )


def schedule_grade_evaluation(order) -> None:
    """Once the current transaction commits, re-evaluate the grades of the
    order's distributor and everyone above them (their team sales grew)."""
    if order.distributor_id is None:
        return
    from .tasks import evaluate_grades_after_order

    outbox.enqueue(evaluate_grades_after_order, order.pk)


def evaluate_grades_after_order(order_id: int) -> int:
    """Evaluate the attributed distributor of an order and their ancestors.

    Each evaluation is its own transaction; safe to run again. Returns the
    number of promotions.
    """
    order = Order.objects.filter(pk=order_id).only("number", "distributor_id").first()
    if order is None or order.distributor_id is None:
        return 0
    ids = selectors.upline_ids(order.distributor_id)
    return evaluate_grades(ids, reason=GradeChange.Reason.ORDER_COMPLETED, note=order.number)


def evaluate_grades(
    distributor_ids: list[int], *, reason: str = GradeChange.Reason.REVIEW, note: str = ""
) -> int:
    """Evaluate each of `distributor_ids`; returns the number of promotions."""
    promoted = 0
    for pk in distributor_ids:
        try:
            with transaction.atomic():
                change = _evaluate_grade_of(pk, reason=reason, note=note, now=None)
        except Distributor.DoesNotExist:
            continue
        promoted += change is not None
    return promoted
