"""Staff's writes on the customer record: tags, notes, and issuing a coupon to a
saved segment. Figures and segments are written by crm.segments only."""

from django.db import transaction
from django.utils.translation import gettext as _

from core import outbox
from core.errors import ServiceError
from marketing import coupons

from . import selectors
from .models import CustomerNote, CustomerProfile, Tag


class NoteError(ServiceError):
    field = "body"


def set_tags(profile: CustomerProfile, tags) -> CustomerProfile:
    """Give the customer exactly `tags` (the others are taken off)."""
    profile.tags.set(tags)
    return profile


def add_tag(profiles, tag: Tag) -> int:
    """Put `tag` on each of `profiles` that lacks it, in one insert; returns how many
    got it. Safe to repeat: a customer holding it already is left alone."""
    Through = CustomerProfile.tags.through
    ids = list(profiles.values_list("pk", flat=True))
    holding = set(
        Through.objects.filter(tag=tag, customerprofile_id__in=ids).values_list(
            "customerprofile_id", flat=True
        )
    )
    rows = [Through(customerprofile_id=pk, tag=tag) for pk in ids if pk not in holding]
    Through.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def remove_tag(profiles, tag: Tag) -> int:
    """Take `tag` off each of `profiles`; returns how many held it."""
    Through = CustomerProfile.tags.through
    removed, _by_model = Through.objects.filter(
        tag=tag, customerprofile_id__in=profiles.values("pk")
    ).delete()
    return removed


def add_note(customer, body: str, *, author) -> CustomerNote:
    """Record a staff note about `customer` (跟进记录), signed by `author`; notes are
    kept as written, never edited. Refused (NoteError): an empty note, or an
    author who is not staff."""
    body = body.strip()
    if not body:
        raise NoteError(_("Write the note first."))
    if author is None or not author.is_staff:
        raise NoteError(_("Only staff can write notes about customers."))
    return CustomerNote.objects.create(customer=customer, author=author, body=body)


@transaction.atomic
def issue_coupon_to_segments(coupon, saved_segments, *, actor) -> coupons.Issued:
    """Give one of `coupon` to every customer of `saved_segments` (each once) by
    marketing.coupons.issue, with its guarantees and its refusals (ClaimError:
    nobody in the segments, a closed coupon, not enough left, an actor who is
    not staff; nothing is issued then)."""
    customers = selectors.customers_of_any(saved_segments).only("pk")
    return coupons.issue(coupon, customers, actor=actor)


def schedule_refresh() -> None:
    """Recompute every customer's segment on the worker once this transaction
    commits (new thresholds); never lost if the broker is down (core.outbox)."""
    from .tasks import refresh_customer_profiles

    outbox.enqueue(refresh_customer_profiles)
