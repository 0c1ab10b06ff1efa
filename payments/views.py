import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orders.models import Order

from . import services, tasks
from .gateways import InvalidNotification, get_gateway
from .models import Payment

logger = logging.getLogger(__name__)


@login_required
@require_POST
def start(request, number):
    """Create (or reuse) a payment for the shopper's own order and go to the gateway."""
    order = get_object_or_404(Order, number=number, user=request.user)
    gateway_code = request.POST.get("gateway") or settings.PAYMENT_GATEWAYS[0]
    try:
        payment = services.start_payment(order, gateway_code=gateway_code)
    except LookupError:
        raise Http404("unknown gateway") from None
    except services.PaymentError as exc:
        messages.error(request, str(exc))
        return redirect(order)
    return redirect(get_gateway(gateway_code).checkout_url(payment, request=request))


@login_required
def sandbox_page(request, reference):
    """The sandbox gateway's hosted page: 'pays', then notifies us server-to-server."""
    payment = get_object_or_404(
        Payment.objects.select_related("order"),
        reference=reference,
        gateway="sandbox",
        order__user=request.user,
    )
    if request.method == "POST" and payment.status == Payment.Status.CREATED:
        notify_url = notify_url_for(request, "sandbox")
        transaction.on_commit(
            lambda: tasks.deliver_sandbox_notification.delay(payment.reference, notify_url)
        )
        return redirect(payment.order)
    return render(request, "payments/sandbox.html", {"payment": payment, "order": payment.order})


def notify_url_for(request, gateway_code: str) -> str:
    path = reverse("payments:notify", args=[gateway_code])
    base = settings.PAYMENT_NOTIFY_BASE_URL
    return base.rstrip("/") + path if base else request.build_absolute_uri(path)


@csrf_exempt
@require_POST
def notify(request, gateway_code):
    """Server-to-server notification: verify, apply once, answer as the gateway expects."""
    try:
        gateway = get_gateway(gateway_code)
    except LookupError:
        raise Http404("unknown gateway") from None
    try:
        notification = gateway.parse_notification(request)
    except InvalidNotification as exc:
        logger.warning("rejected %s notification: %s", gateway_code, exc)
        return gateway.reject()
    try:
        outcome = services.handle_notification(gateway_code, notification)
    except services.PaymentError as exc:
        logger.warning("refused %s notification %s: %r", gateway_code, notification.reference, exc)
        return gateway.reject()
    logger.info("%s notification %s: %s", gateway_code, notification.reference, outcome)
    return gateway.acknowledge()
