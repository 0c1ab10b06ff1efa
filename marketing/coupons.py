"""Coupons handed out and used: claiming (领券), staff issuing, use by an order, and
the return of a coupon when its unpaid order is cancelled.

Claims of one coupon take its row lock in turn, so the quantity and the
per-person limit hold under any number of concurrent claims; an order takes
a claim by a conditional update, so one coupon makes one order.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ServiceError
from core.money import HALF_FEN, ZERO, format_cny
from orders import selectors as order_selectors

from .models import Coupon, CouponClaim


class ClaimError(ServiceError):
    """A coupon that cannot be claimed or issued; str() says why."""


class SoldOut(ClaimError):
    pass


class LimitReached(ClaimError):
    pass


class NotForYou(ClaimError):
    pass


class NothingToIssue(ClaimError):
    """Staff issuing with no customer chosen, or none matching the conditions."""

    field = "users"


class BadCondition(ClaimError):
    """A condition of issuing by filter that makes no sense; `field` names it."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def _refuse_if_closed(coupon: Coupon, now) -> None:
    if not coupon.is_active:
        raise ClaimError(_("This coupon is no longer offered."))
    if coupon.validity == Coupon.Validity.FIXED and coupon.valid_until <= now:
        raise ClaimError(_("This coupon has expired."))


@transaction.atomic
def claim(user, coupon: Coupon, *, now=None) -> CouponClaim:
    """Give `user` one of `coupon` from the coupon centre or a product page (领券).

    Locks the coupon row: concurrent claims take turns, so no more are handed
    out than its quantity and no shopper holds more than the per-person limit.
    Refused (ClaimError; nothing changes): a coupon not offered in the centre,
    inactive or expired, none left, the limit reached, or a new-customer coupon
    for someone who has paid before.
    """
    now = now or timezone.now()
    coupon = Coupon.objects.select_for_update().get(pk=coupon.pk)
    if not coupon.is_public:
        raise ClaimError(_("This coupon is not offered in the coupon centre."))
    _refuse_if_closed(coupon, now)
    if coupon.audience == Coupon.Audience.NEW_CUSTOMERS and not order_selectors.is_new_customer(
        user
    ):
        raise NotForYou(_("This coupon is for new customers only."))
    if coupon.claims.filter(user=user).count() >= coupon.per_person_limit:
        raise LimitReached(
            _("You already have as many of this coupon as one person may (%(limit)d).")
            % {"limit": coupon.per_person_limit}
        )
    return _hand_out(coupon, [user], now=now)[0]


@dataclass(frozen=True)
class Issued:
    """What staff issuing did: how many customers got one, and how many were
    skipped and why."""

    issued: int
    at_limit: int = 0  # already held as many as one person may
    not_new: int = 0  # a coupon for new customers, and they have paid before

    @property
    def skipped(self) -> int:
        return self.at_limit + self.not_new


def _locked_open(coupon: Coupon, now) -> Coupon:
    """The coupon re-read under its row lock; ClaimError if it is closed."""
    coupon = Coupon.objects.select_for_update().get(pk=coupon.pk)
    _refuse_if_closed(coupon, now)
    return coupon


def _refuse_unless_staff(actor) -> None:
    if actor is None or not actor.is_staff:
        raise ClaimError(_("Only staff can issue coupons."))


@transaction.atomic
def issue(coupon: Coupon, users, *, actor, now=None) -> Issued:
    """Give one of `coupon` to each of `users` (发券), from the back office.

    Locks the coupon row, as claims do, so the quantity and the per-person
    limit hold against concurrent claims. A coupon not offered in the coupon
    centre may be issued; an inactive or expired one may not. Customers who
    already hold the per-person limit, and for a new-customers coupon those
    who have paid before, are skipped and counted. If fewer are left than the
    customers to give one to, nothing is issued (SoldOut). Refused (ClaimError,
    nothing changed): no customer, an actor who is not staff.
    """
    _refuse_unless_staff(actor)
    now = now or timezone.now()
    unique = {user.pk: user for user in users}
    if not unique:
        raise NothingToIssue(_("Choose at least one customer to give the coupon to."))
    coupon = _locked_open(coupon, now)
    return _issue(coupon, list(unique.values()), actor=actor, now=now)


@transaction.atomic
def issue_to_matching(
    coupon: Coupon,
    *,
    actor,
    spent_at_least: Decimal | None = None,
    ordered_within_days: int | None = None,
    bound_to=None,
    now=None,
) -> Issued:
    """Give one of `coupon` to every active customer who meets all the conditions given
    (matching_customers), with the guarantees of `issue`.

    At least one condition is needed; an amount not above 0 or fewer than 1
    day is refused (BadCondition), and so is a set of conditions no customer
    meets (NothingToIssue); nothing changes then.
    """
    _refuse_unless_staff(actor)
    now = now or timezone.now()
    if spent_at_least is None and ordered_within_days is None and bound_to is None:
        raise NothingToIssue(
            _("Give the customers' usernames or phones, or at least one condition they meet.")
        )
    if spent_at_least is not None and spent_at_least <= ZERO:
        raise BadCondition(
            "spent_at_least",
            _("The amount spent must be above %(amount)s.") % {"amount": format_cny(ZERO)},
        )
    if ordered_within_days is not None and ordered_within_days < 1:
        raise BadCondition("ordered_within_days", _("Give a number of days of at least 1."))
    coupon = _locked_open(coupon, now)
    users = list(
        matching_customers(
            spent_at_least=spent_at_least,
            ordered_within_days=ordered_within_days,
            bound_to=bound_to,
            now=now,
        )
    )
    if not users:
        raise NothingToIssue(_("No customer meets these conditions."))
    return _issue(coupon, users, actor=actor, now=now)


def matching_customers(*, spent_at_least=None, ordered_within_days=None, bound_to=None, now=None):
    """Active users who meet every condition given (one query when evaluated):

    - `spent_at_least`: their paid orders (paid and not refunded in full) come to
      at least this much, less what was refunded of them;
    - `ordered_within_days`: they placed an order in the last N days that was paid;
    - `bound_to`: they are bound to this distributor now (推广关系 in force).
    """
    from distributors.selectors import bindings_in_force
    from orders.models import Order  # orders prices its orders through marketing

    now = now or timezone.now()
    users = get_user_model().objects.filter(is_active=True)
    if spent_at_least is not None:
        kept = ExpressionWrapper(
            F("total") - F("refunded_total"),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        )
        spenders = (
            Order.objects.filter(status__in=Order.PAID_STATUSES)
            .order_by()  # no ordering column in the GROUP BY
            .values("user")
            .annotate(spent=Sum(kept))
            .filter(spent__gte=spent_at_least - HALF_FEN)
            .values("user")
        )
        users = users.filter(pk__in=spenders)
    if ordered_within_days is not None:
        since = now - timedelta(days=ordered_within_days)
        users = users.filter(
            pk__in=Order.objects.filter(paid_at__isnull=False, created_at__gte=since).values("user")
        )
    if bound_to is not None:
        bound = bindings_in_force(now).filter(distributor=bound_to)
        users = users.filter(pk__in=bound.values("customer"))
    return users.order_by("pk")


def _issue(coupon: Coupon, users: list, *, actor, now) -> Issued:
    """Issue a locked, open coupon to `users` (distinct), skipping who may not have one."""

    ids = [user.pk for user in users]
    held = dict(
        coupon.claims.filter(user__in=ids)
        .order_by()
        .values("user")
        .annotate(n=Count("pk"))
        .values_list("user", "n")
    )
    eligible = [user for user in users if held.get(user.pk, 0) < coupon.per_person_limit]
    at_limit = len(users) - len(eligible)
    not_new = 0
    if coupon.audience == Coupon.Audience.NEW_CUSTOMERS and eligible:
        paid = order_selectors.customers_who_paid(user.pk for user in eligible)
        not_new = len(paid)
        eligible = [user for user in eligible if user.pk not in paid]
    if coupon.remaining is not None and coupon.remaining < len(eligible):
        raise SoldOut(
            _(
                "Only %(left)d of this coupon are left, not enough for %(count)d customers. "
                "Nothing was issued."
            )
            % {"left": coupon.remaining, "count": len(eligible)}
        )
    if eligible:
        _hand_out(coupon, eligible, now=now, issued_by=actor)
    return Issued(issued=len(eligible), at_limit=at_limit, not_new=not_new)


def _hand_out(coupon: Coupon, users, *, now, issued_by=None) -> list[CouponClaim]:
    """Create one claim per user of a locked coupon and count them; SoldOut if fewer are left."""
    users = list(users)
    if coupon.remaining is not None and coupon.remaining < len(users):
        raise SoldOut(
            _("Only %(left)d of this coupon are left.") % {"left": coupon.remaining}
            if coupon.remaining
            else _("This coupon has all been claimed.")
        )
    valid_from, valid_until = coupon.validity_of_claim(now)
    claims = CouponClaim.objects.bulk_create(
        CouponClaim(
            coupon=coupon,
            user=user,
            source=CouponClaim.Source.ISSUED if issued_by else CouponClaim.Source.CLAIMED,
            issued_by=issued_by,
            claimed_at=now,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        for user in users
    )
    Coupon.objects.filter(pk=coupon.pk).update(claimed_count=F("claimed_count") + len(users))
    coupon.claimed_count += len(users)
    return claims


@transaction.atomic
def use(claim_id: int, order, *, now=None) -> CouponClaim:
    """Mark the shopper's claim used by `order` (placed in this transaction), once.

    A conditional update: of two checkouts with one coupon, the second finds it
    taken and raises (its transaction, with its order, rolls back).
    """
    from .pricing import CouponError

    now = now or timezone.now()
    taken = CouponClaim.objects.filter(pk=claim_id, user=order.user_id, order=None).update(
        order=order, used_at=now
    )
    if not taken:
        raise CouponError(_("This coupon was already used."))
    return CouponClaim.objects.get(pk=claim_id)


def give_back(order) -> int:
    """The coupon of a cancelled unpaid order returns to its shopper (never after a refund
    of a paid order: that coupon was spent). Returns how many came back."""
    return CouponClaim.objects.filter(order=order).update(order=None, used_at=None)
