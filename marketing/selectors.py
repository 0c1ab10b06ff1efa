"""Reads of marketing for the storefront and the distributor pages."""

from django.db.models import Count, Q, QuerySet, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders import selectors as order_selectors

from .models import Coupon, CouponClaim


def claimable_coupons(user, *, product=None, now=None) -> list[Coupon]:
    """The coupons offered in the coupon centre now (for `product`: those covering it),
    each with `held`: how many of it `user` holds (0 for a visitor). One query."""
    now = now or timezone.now()
    coupons = Coupon.objects.filter(is_active=True, is_public=True).exclude(
        validity=Coupon.Validity.FIXED, valid_until__lte=now
    )
    if product is not None:
        category = product.category  # covered by a coupon's category or one above it
        coupons = coupons.filter(
            Q(scope=Coupon.Scope.ALL)
            | Q(scope=Coupon.Scope.PRODUCTS, products=product)
            | Q(
                scope=Coupon.Scope.CATEGORIES,
                categories__tree_id=category.tree_id,
                categories__lft__lte=category.lft,
                categories__rght__gte=category.rght,
            )
        ).distinct()
    held = Q(claims__user=user) if user.is_authenticated else Q(pk=None)
    # distinct: the product page's joins (products, categories) repeat a coupon's claims
    held_count = Count("claims", filter=held, distinct=True)
    return list(coupons.annotate(held=held_count).order_by("-created_at", "-pk"))


def coupon_centre(user, *, now=None) -> list[Coupon]:
    """The coupons of the coupon centre (claimable_coupons), with the categories and
    products they cover loaded. Three queries (one without coupons)."""
    coupons = claimable_coupons(user, now=now)
    prefetch_related_objects(coupons, "categories", "products")
    return coupons


def may_claim_new_customer_coupons(user, coupons: list[Coupon]) -> bool:
    """Whether the new-customer coupons among `coupons` are for `user`: a visitor may
    sign up and claim them, a shopper only before their first paid order. One query,
    only if there is such a coupon."""
    if not any(c.audience == Coupon.Audience.NEW_CUSTOMERS for c in coupons):
        return False
    return not user.is_authenticated or order_selectors.is_new_customer(user)


# 我的优惠券: tab -> (label, condition at `now`)
CLAIM_TABS = {
    "usable": (_("Usable"), lambda now: Q(order=None, valid_until__gt=now)),
    "used": (_("Used"), lambda now: Q(order__isnull=False)),
    "expired": (_("Expired"), lambda now: Q(order=None, valid_until__lte=now)),
}


def claim_tab(value) -> str:
    """The tab of my coupons asked for; anything unknown is "usable"."""
    return value if value in CLAIM_TABS else "usable"


def claim_tab_counts(user, *, now=None) -> dict[str, int]:
    """How many of the shopper's coupons each tab shows (one query)."""
    now = now or timezone.now()
    counts = CouponClaim.objects.filter(user=user).aggregate(
        **{name: Count("pk", filter=condition(now)) for name, (_l, condition) in CLAIM_TABS.items()}
    )
    return {name: counts[name] or 0 for name in CLAIM_TABS}


def claims_in_tab(user, tab: str, *, now=None) -> QuerySet[CouponClaim]:
    """The shopper's coupons in `tab` with their coupon, its scope and the order that
    used it: usable ones expiring first, the others latest first (three queries a page)."""
    now = now or timezone.now()
    tab = claim_tab(tab)
    claims = (
        CouponClaim.objects.filter(user=user)
        .filter(CLAIM_TABS[tab][1](now))
        .select_related("coupon", "order")
        .prefetch_related("coupon__categories", "coupon__products")
    )
    if tab == "usable":
        return claims.order_by("valid_until", "pk")
    if tab == "used":
        return claims.order_by("-used_at", "-pk")
    return claims.order_by("-valid_until", "-pk")


def is_someone_elses_claim(user, claim_id) -> bool:
    """Whether `claim_id` (as typed: a claim id, or anything) is another shopper's coupon."""
    if not str(claim_id).isdigit() or len(str(claim_id)) > 18:  # beyond any id
        return False
    return CouponClaim.objects.filter(pk=int(claim_id)).exclude(user=user).exists()
