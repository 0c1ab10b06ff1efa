"""Reads of marketing for the storefront and the distributor pages."""

from django.db.models import Count, Q
from django.utils import timezone

from .models import Coupon


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
    return list(coupons.annotate(held=Count("claims", filter=held)).order_by("-created_at", "-pk"))
