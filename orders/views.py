from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors as selectors_accounts
from core.errors import ServiceError
from distributors.middleware import referral_code
from marketing import pricing
from marketing import selectors as marketing_selectors

from . import aftersale, cart, selectors, services
from .aftersale_forms import AfterSaleForm
from .cart import Cart
from .forms import CartLineForm, CheckoutForm
from .models import Order, ShippingSettings

CHECKOUT_TOKEN_KEY = "checkout_token"  # noqa: S105 - a session key
CHECKOUT_ISSUED_KEY = "checkout_token_issued"  # noqa: S105 - a session key
TOKEN_FIELD = "checkout_token"  # noqa: S105 - a form field


def cart_detail(request):
    """The cart at its sale prices, with the gifts it reaches (coupons: at checkout)."""
    items = Cart(request.session).items()
    rules = ShippingSettings.get_solo()
    priced = cart.price(request.user, items, rules=rules) if items else None
    return render(
        request,
        "orders/cart.html",
        {"items": items, "priced": priced, "free_shipping_above": rules.free_above},
    )


@require_POST
def cart_add(request):
    cart = Cart(request.session)
    variant_id = request.POST.get("variant", "")
    in_cart = cart.quantity_of(int(variant_id)) if variant_id.isdigit() else 0
    form = CartLineForm(request.POST, in_cart=in_cart)
    if form.is_valid():
        variant = form.cleaned_data["variant"]
        cart.set(variant.pk, in_cart + form.cleaned_data["quantity"])
        messages.success(request, _("Added to your cart."))
        return redirect("orders:cart")
    for error in _form_errors(form):
        messages.error(request, error)
    return redirect(_safe_next(request) or "orders:cart")


def _safe_next(request) -> str:
    """The page to go back to, only if it is on this site."""
    for candidate in (request.POST.get("next"), request.META.get("HTTP_REFERER")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return ""


@require_POST
def cart_update(request):
    cart = Cart(request.session)
    form = CartLineForm(request.POST, allow_zero=True)
    if form.is_valid() and not cart.quantity_of(form.cleaned_data["variant"].pk):
        messages.error(request, _("This item is not in your cart."))
    elif form.is_valid():
        cart.set(form.cleaned_data["variant"].pk, form.cleaned_data["quantity"])
        messages.success(request, _("Your cart was updated."))
    else:
        for error in _form_errors(form):
            messages.error(request, error)
    return redirect("orders:cart")


def _form_errors(form) -> list[str]:
    return [error for errors in form.errors.values() for error in errors]


def _issue_checkout_token(request) -> str:
    """A fresh one-time token for the checkout form, remembered with its time."""
    token = str(services.new_checkout_token())
    request.session[CHECKOUT_TOKEN_KEY] = token
    request.session[CHECKOUT_ISSUED_KEY] = timezone.now().timestamp()
    return token


def _token_is_current(request, token, rules: ShippingSettings) -> bool:
    """The posted token is the one this session was given, and not older than
    the unpaid-order timeout (prices and stock may have moved since)."""
    issued = request.session.get(CHECKOUT_ISSUED_KEY, 0)
    age = timezone.now().timestamp() - issued
    return token == request.session.get(CHECKOUT_TOKEN_KEY) and age <= (
        rules.unpaid_timeout.total_seconds()
    )


COUPON_PARAM = "coupon"  # ?coupon=<claim id>, or empty for none; absent: the best one


@login_required
def checkout(request):
    """Choose an address (or add one) and a coupon, see the totals, place the order once.

    The coupon picker is a GET form: choosing another coupon reloads the page
    priced with it (?coupon=), and the order form carries that choice.
    """
    if request.method == "POST":
        # A token that already made an order: this is a resubmission (back button,
        # double click), whatever the cart holds now. Show that order.
        placed = selectors.order_placed_with(request.user, request.POST.get(TOKEN_FIELD))
        if placed is not None:
            messages.info(request, _("This order was already placed. Here it is."))
            return redirect(placed)
    shopping_cart = Cart(request.session)
    items = shopping_cart.items()
    if not items:
        messages.info(request, _("Your cart is empty."))
        return redirect("orders:cart")
    rules = ShippingSettings.get_solo()
    addresses = list(selectors_accounts.addresses_of(request.user))
    form = CheckoutForm(request.POST or None, addresses=addresses)
    coupon = request.GET.get(COUPON_PARAM, pricing.BEST)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if not _token_is_current(request, str(data["checkout_token"]), rules):
            _issue_checkout_token(request)
            messages.error(
                request,
                _(
                    "This checkout page has expired. Check your order and the totals, "
                    "then place it again."
                ),
            )
            return redirect("orders:checkout")
        try:
            order = services.check_out(
                request.user,
                [(item.variant.pk, item.quantity) for item in items],  # what was shown
                address=form.chosen_address(),
                make_default=form.new_address_is_default(),
                note=data["note"],
                referral_code=referral_code(request),
                checkout_token=data["checkout_token"],
                shipping_rules=rules,
                # "" (none chosen) as None: pricing then reads no coupons at all
                coupon=data["coupon"] or None,
            )
        except services.OrderError as exc:
            messages.error(request, str(exc))
            return redirect("orders:cart")
        except ServiceError as exc:  # the coupon (pricing.CouponError), the referral
            _refuse_someone_elses_coupon(request.user, data["coupon"])
            messages.error(request, str(exc))
            coupon = pricing.BEST  # the page again, with what can be used now
        else:
            shopping_cart.clear()
            request.session.pop(CHECKOUT_TOKEN_KEY, None)
            request.session.pop(CHECKOUT_ISSUED_KEY, None)
            missed = getattr(order, "missed_gifts", [])
            if missed:
                messages.warning(
                    request,
                    _("Sorry, these gifts have all been given away: %(gifts)s.")
                    % {"gifts": ", ".join(rule.display_name for rule in missed)},
                )
            return redirect(order)
    if not form.is_bound:
        token = request.session.get(CHECKOUT_TOKEN_KEY)
        if not token or not _token_is_current(request, token, rules):
            token = _issue_checkout_token(request)
        form.initial["checkout_token"] = token
    try:
        priced = cart.price(request.user, items, rules=rules, coupon=coupon)
    except pricing.CouponError as exc:  # a coupon in the URL that cannot be used
        _refuse_someone_elses_coupon(request.user, coupon)
        messages.error(request, str(exc))
        priced = cart.price(request.user, items, rules=rules, coupon=pricing.BEST)
    chosen = priced.quote.chosen
    return render(
        request,
        "orders/checkout.html",
        {
            "form": form,
            "address_form": form.address_form,
            "addresses": addresses,
            "items": items,
            "priced": priced,
            "chosen_coupon": str(chosen.claim.pk) if chosen else "",
            "rules": rules,
            "shipping": priced.shipping,
            "payment_timeout_minutes": rules.unpaid_timeout_minutes,
        },
    )


def _refuse_someone_elses_coupon(user, coupon) -> None:
    """404 for a coupon id that is another shopper's claim: not theirs to try."""
    if marketing_selectors.is_someone_elses_claim(user, coupon):
        raise Http404


@login_required
def order_list(request):
    """The shopper's orders under a status tab (?tab=; an unknown one shows them all)."""
    tab = selectors.order_tab(request.GET.get("tab"))
    page = Paginator(selectors.orders_of(request.user, tab), 20).get_page(request.GET.get("page"))
    selectors.set_payment_deadlines(page.object_list)
    counts = selectors.order_tab_counts(request.user)
    tabs = [
        {"value": value, "label": label, "count": counts[value], "current": value == tab}
        for value, (label, _condition) in selectors.ORDER_TABS.items()
    ]
    return render(request, "orders/order_list.html", {"page": page, "tab": tab, "tabs": tabs})


def _order_page(request, number):
    try:
        return selectors.order_page(request.user, number)
    except Order.DoesNotExist:
        raise Http404 from None


@login_required
def order_detail(request, number, form=None):
    page = _order_page(request, number)
    if form is None and aftersale.can_request(page.order) and not page.open_request:
        form = AfterSaleForm(refundable=page.refundable)
    return render(
        request,
        "orders/order_detail.html",
        {"order": page.order, "page": page, "form": form},
    )


@login_required
@require_POST
def order_receive(request, number):
    order = get_object_or_404(Order, number=number, user=request.user)
    try:
        services.confirm_receipt(order, actor=request.user)
    except services.OrderError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Thank you! Receipt confirmed."))
    return redirect(order)


@login_required
@require_POST
def order_refund(request, number):
    """The shopper asks for a refund (售后) of their order or some of its items."""
    page = _order_page(request, number)
    form = AfterSaleForm(request.POST, refundable=page.refundable)
    if not form.is_valid():
        messages.error(request, _("Please correct the errors below."))
        return order_detail(request, number, form=form)
    try:
        aftersale.request_refund(
            page.order,
            user=request.user,
            kind=form.cleaned_data["kind"],
            reason=form.cleaned_data["reason"],
            reason_text=form.cleaned_data["reason_text"],
            quantities=form.quantities(),
        )
    except services.OrderError as exc:
        messages.error(request, str(exc))
        return order_detail(request, number, form=form)
    messages.success(request, _("Your refund request was sent. We will answer soon."))
    return redirect(page.order)


@login_required
@require_POST
def order_cancel(request, number):
    order = get_object_or_404(Order, number=number, user=request.user)
    try:
        services.cancel_order(order, actor=request.user, reason=services.CANCELLED_BY_SHOPPER_NOTE)
    except services.OrderError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Your order was cancelled."))
    return redirect(order)
