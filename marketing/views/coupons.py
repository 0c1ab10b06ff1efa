from django.shortcuts import render

from .. import selectors


def coupon_centre(request):
    """The coupon centre (领券中心): every coupon on offer, to claim."""
    coupons = selectors.claimable_coupons(request.user)
    return render(request, "marketing/coupon_centre.html", {"coupons": coupons})
