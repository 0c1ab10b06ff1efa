"""Coupons handed out and used: claiming (领券), staff issuing, use by an order, and
the return of a coupon when its unpaid order is cancelled.

Claims of one coupon take its row lock in turn, so the quantity and the
per-person limit hold under any number of concurrent claims; an order takes
a claim by a conditional update, so one coupon makes one order.
"""

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ServiceError

from .models import Coupon, CouponClaim


class ClaimError(ServiceError):
    """A coupon that cannot be claimed or issued; str() says why."""


class SoldOut(ClaimError):
    pass


class LimitReached(ClaimError):
    pass


class NotForYou(ClaimError):
    pass


def is_new_customer(user) -> bool:
    """Whether `user` has never paid for an order (新客)."""
    from orders.models import Order  # orders prices its orders through marketing

    return not Order.objects.filter(user=user, paid_at__isnull=False).exists()


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
    if coupon.audience == Coupon.Audience.NEW_CUSTOMERS and not is_new_customer(user):
        raise NotForYou(_("This coupon is for new customers only."))
    if coupon.claims.filter(user=user).count() >= coupon.per_person_limit:
        raise LimitReached(
            _("You already have as many of this coupon as one person may (%(limit)d).")
            % {"limit": coupon.per_person_limit}
        )
    return _hand_out(coupon, [user], now=now)[0]


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
