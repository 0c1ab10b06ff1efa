"""The shopper's coupons (优惠券): the coupon centre, claiming, and my coupons."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import coupons, selectors
from ..models import Coupon


def coupon_centre(request):
    """The coupon centre (领券中心): every coupon on offer, to claim."""
    offered = selectors.coupon_centre(request.user)
    may_claim_new = selectors.may_claim_new_customer_coupons(request.user, offered)
    return render(
        request,
        "marketing/coupon_centre.html",
        {"coupons": offered, "may_claim_new": may_claim_new},
    )


@login_required
@require_POST
def claim(request, pk):
    """Claim one coupon of the coupon centre (from there or a product page), then go
    back where the shopper was. A coupon not offered in the centre is not found."""
    coupon = get_object_or_404(Coupon, pk=pk, is_public=True)
    try:
        coupons.claim(request.user, coupon)
    except coupons.ClaimError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("You claimed “%(name)s”. It is in My coupons.") % {"name": coupon.display_name},
        )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        back = ""
    return redirect(back or "marketing:coupon_centre")


@login_required
def my_coupons(request):
    """My coupons (我的优惠券) under a tab: usable, used (with their order) or expired."""
    now = timezone.now()
    tab = selectors.claim_tab(request.GET.get("tab"))
    claims = selectors.claims_in_tab(request.user, tab, now=now)
    page = Paginator(claims, 20).get_page(request.GET.get("page"))
    counts = selectors.claim_tab_counts(request.user, now=now)
    tabs = [
        {"value": value, "label": label, "count": counts[value], "current": value == tab}
        for value, (label, _condition) in selectors.CLAIM_TABS.items()
    ]
    return render(
        request, "marketing/my_coupons.html", {"page": page, "tab": tab, "tabs": tabs, "now": now}
    )
