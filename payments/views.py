"""The cashier (收银台), the pages the gateways send the shopper back to, and notify URLs.

Views only parse and render: which payment to use, how to open it at the
gateway and what a notification means are payments.services' business.
Nothing the browser brings back (a return URL's query string) marks an order
paid; only a verified server-to-server notification or a query does.
"""

import logging
from functools import wraps
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts import wechat
from core import outbox
from orders.models import Order

from . import selectors, services, tasks, transfers
from .gateways import InvalidNotification, get_gateway, is_offered
from .gateways import base as channels
from .models import Payment

logger = logging.getLogger(__name__)


def _own_order(request, number) -> Order:
    return get_object_or_404(Order, number=number, user=request.user)


def _own_payment(request, reference, **filters) -> Payment:
    return get_object_or_404(
        Payment.objects.select_related("order"),
        reference=reference,
        order__user=request.user,
        **filters,
    )


@login_required
@never_cache
def cashier(request, number):
    """Choose how to pay: every way the shop offers, the one that suits the device first."""
    order = _own_order(request, number)
    if order.status != Order.Status.PENDING_PAYMENT:
        return redirect(order)
    options = selectors.payment_options(request)
    return render(request, "payments/cashier.html", {"order": order, "options": options})


@login_required
@require_POST
def start(request, number):
    """Create (or reuse) a payment for the shopper's own order, then go to pay it.

    "Pay now" posts no way to pay: with one way offered on this device (the
    sandbox; WeChat Pay inside WeChat) it is that way, with several the shopper
    chooses on the cashier.
    """
    order = _own_order(request, number)
    gateway_code, channel = request.POST.get("gateway"), request.POST.get("channel")
    if not gateway_code:
        only = selectors.only_option(request)
        if only is None:
            return redirect("payments_pages:cashier", number=order.number)
        gateway_code, channel = only.gateway, only.channel
    try:
        payment = services.start_payment(order, gateway_code=gateway_code, channel=channel)
    except LookupError:
        raise Http404("unknown gateway or way to pay") from None
    except services.PaymentError as exc:
        messages.error(request, str(exc))
        return redirect(order)
    # A GET of the payment's own page opens it: a reload shows the same QR code.
    return redirect("payments_pages:pay", reference=payment.reference)


@login_required
@never_cache
def pay(request, reference):
    """Open a payment at its gateway: off to its page, or our page with WeChat's QR code
    or, inside WeChat, the JSAPI call."""
    payment = _own_payment(request, reference)
    if payment.status != Payment.Status.CREATED:
        return redirect("payments_pages:return", reference=payment.reference)
    openid = ""
    if payment.channel == channels.WECHAT_JSAPI:
        openid = wechat.openid_for(request.user) or ""
        if not openid:
            # JSAPI pays as the shopper's WeChat identity: sign in with WeChat first.
            login = reverse("accounts:wechat_login")
            return redirect(f"{login}?{urlencode({'next': request.get_full_path()})}")
    try:
        checkout = services.open_checkout(
            payment,
            request=request,
            return_url=services.return_url(payment, request=request),
            openid=openid,
        )
    except services.PaymentError as exc:
        messages.error(request, str(exc))
        return redirect("payments_pages:cashier", number=payment.order.number)
    if checkout.redirect_url:
        return redirect(checkout.redirect_url)
    return render(
        request,
        "payments/pay.html",
        {
            "payment": payment,
            "order": payment.order,
            # omitsize: a viewBox instead of a fixed size, so CSS scales it to the screen.
            "qr_svg": segno.make(checkout.qr_code, error="m").svg_inline(scale=6, omitsize=True)
            if checkout.qr_code
            else "",
            "jsapi": checkout.jsapi,
        },
    )


@login_required
@never_cache
def returned(request, reference):
    """Where the gateway sends the shopper back: "checking your payment", then the order."""
    payment = _own_payment(request, reference)
    return render(request, "payments/return.html", {"payment": payment, "order": payment.order})


@login_required
@never_cache
def status(request, reference):
    """The payment's state, polled by the cashier and the return page (two queries)."""
    payment = _own_payment(request, reference)
    return JsonResponse(
        {
            "status": payment.status,
            "paid": selectors.is_settled(payment),
            "order_url": payment.order.get_absolute_url(),
        }
    )


@login_required
def sandbox_page(request, reference):
    """The sandbox gateway's hosted page: 'pays', then notifies us server-to-server.

    Not there at all outside a demo site (DEMO_SITE): it pays with nothing."""
    if not is_offered("sandbox"):
        raise Http404("the sandbox gateway is not offered")
    payment = _own_payment(request, reference, gateway="sandbox")
    if request.method == "POST" and payment.status == Payment.Status.CREATED:
        notify_url = services.notify_url("sandbox", request=request)
        outbox.enqueue(tasks.deliver_sandbox_notification, payment.reference, notify_url)
        return redirect("payments_pages:return", reference=payment.reference)
    return render(request, "payments/sandbox.html", {"payment": payment, "order": payment.order})


def _gateway_or_404(gateway_code):
    try:
        return get_gateway(gateway_code)
    except LookupError:
        raise Http404("unknown gateway") from None


# Alipay's and WeChat Pay's notifications are a few KB; anything much larger is not one.
NOTIFY_MAX_BYTES = 64 * 1024


def limited_body(view):
    """Answer 413, without reading the body, a notification over NOTIFY_MAX_BYTES or one
    whose size is not announced (no Content-Length, e.g. chunked): an unauthenticated
    URL must not let anyone make us read and parse megabytes before the signature check."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or -1)
        except ValueError:
            length = -1
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        if length < 0 or length > NOTIFY_MAX_BYTES or chunked:
            logger.warning("refused a notification of %s bytes to %s", length, request.path)
            return HttpResponse("request body too large", status=413, content_type="text/plain")
        return view(request, *args, **kwargs)

    return wrapped


@csrf_exempt
@require_POST
@limited_body
def notify(request, gateway_code):
    """Server-to-server payment notification: verify, apply once, answer as the gateway expects."""
    gateway = _gateway_or_404(gateway_code)
    try:
        notification = gateway.parse_notification(request)
    except InvalidNotification as exc:
        logger.warning("rejected %s notification: %s", gateway_code, exc)
        return gateway.reject()
    try:
        outcome = services.handle_notification(gateway_code, notification)
    except services.PaymentError as exc:
        logger.warning("refused %s notification %s: %r", gateway_code, notification.reference, exc)
        services.record_refused(gateway_code, notification, type(exc).__name__)
        return gateway.reject()
    logger.info("%s notification %s: %s", gateway_code, notification.reference, outcome)
    return gateway.acknowledge()


# kind -> (the gateway's parser, the service that applies what it read)
NOTIFICATION_KINDS = {
    "refund": ("parse_refund_notification", services.settle_refund),
    "transfer": ("parse_transfer_notification", transfers.apply_result),
}


@csrf_exempt
@require_POST
@limited_body
def notify_kind(request, gateway_code, kind):
    """Refund and transfer notifications (WeChat Pay sends both to URLs we name)."""
    gateway = _gateway_or_404(gateway_code)
    if kind not in NOTIFICATION_KINDS:
        raise Http404("unknown notification")
    parse, apply = NOTIFICATION_KINDS[kind]
    try:
        result = getattr(gateway, parse)(request)
    except InvalidNotification as exc:
        logger.warning("rejected %s %s notification: %s", gateway_code, kind, exc)
        return gateway.reject()
    try:
        outcome = apply(gateway_code, result)
    except services.PaymentError as exc:
        logger.warning("refused %s %s notification: %r", gateway_code, kind, exc)
        return gateway.reject()
    logger.info("%s %s notification %s: %s", gateway_code, kind, result, outcome)
    return gateway.acknowledge()
