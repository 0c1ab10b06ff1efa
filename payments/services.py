"""Payments: starting one, taking a gateway's notification, refunding.

A notification is handled under the payment's row lock and skipped when the
payment already succeeded, so one delivered many times (also concurrently)
moves the order once.
"""

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders import services as order_services
from orders.models import Order

from .gateways import Notification, get_gateway
from .models import Payment, PaymentNotification

logger = logging.getLogger(__name__)


class PaymentError(Exception):
    """A payment request refused; str() is a message for people."""


class UnknownPayment(PaymentError):
    pass


class AmountMismatch(PaymentError):
    pass


@transaction.atomic
def start_payment(order: Order, *, gateway_code: str) -> Payment:
    """The payment to send the shopper to pay `order` with; reused while unpaid."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status != Order.Status.PENDING_PAYMENT:
        raise PaymentError(
            _("This order cannot be paid: it is %(status)s.")
            % {"status": order.get_status_display()}
        )
    get_gateway(gateway_code)  # LookupError for a gateway we do not offer
    payment = order.payments.filter(gateway=gateway_code, status=Payment.Status.CREATED).first()
    if payment is None or payment.amount != order.total:
        payment = Payment.objects.create(order=order, gateway=gateway_code, amount=order.total)
    return payment


@transaction.atomic
def handle_notification(gateway_code: str, notification: Notification) -> str:
    """Apply a verified notification; returns what happened ("paid", "duplicate", ...).

    Raises UnknownPayment or AmountMismatch (nothing is changed then).
    """
    payment = (
        Payment.objects.select_for_update()
        .filter(gateway=gateway_code, reference=notification.reference)
        .first()
    )
    if payment is None:
        raise UnknownPayment(notification.reference)
    if notification.amount != payment.amount:
        raise AmountMismatch(f"{notification.amount} != {payment.amount}")
    if not notification.succeeded:
        outcome = "not-successful"
    elif payment.status != Payment.Status.CREATED:
        outcome = "duplicate"
    else:
        payment.status = Payment.Status.SUCCEEDED
        payment.gateway_trade_no = notification.trade_no
        payment.succeeded_at = timezone.now()
        payment.save(update_fields=["status", "gateway_trade_no", "succeeded_at"])
        outcome = _settle(payment)
    PaymentNotification.objects.create(
        payment=payment, payload=notification.payload, outcome=outcome
    )
    return outcome


def _settle(payment: Payment) -> str:
    """Mark the order paid; money for an order that can no longer be paid goes back."""
    try:
        order_services.mark_paid(payment.order, note=payment.reference)
    except order_services.InvalidTransition:
        # Paid after the order was cancelled (timeout) or by a second attempt:
        # we must not keep money for goods we will not send.
        logger.warning(
            "payment %s arrived for order in state that cannot be paid; refunding",
            payment.reference,
        )
        _refund(payment, reason="order no longer payable")
        return "refunded"
    return "paid"


def _refund(payment: Payment, *, reason: str) -> None:
    payment.refund_reference = get_gateway(payment.gateway).refund(payment, reason=reason)
    payment.status = Payment.Status.REFUNDED
    payment.refunded_at = timezone.now()
    payment.save(update_fields=["status", "refund_reference", "refunded_at"])


@transaction.atomic
def refund_order(order: Order, *, actor, reason: str = "", restock: bool = True) -> Order:
    """Refund a paid order in full through its gateway; its commissions are reversed."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if not order.can_become(Order.Status.REFUNDED):
        raise order_services.InvalidTransition(order, Order.Status.REFUNDED)
    payment = order.payments.select_for_update().filter(status=Payment.Status.SUCCEEDED).first()
    if payment is None:
        raise PaymentError(
            _("Order %(number)s has no successful payment to refund.") % {"number": order.number}
        )
    _refund(payment, reason=reason)
    return order_services.mark_refunded(order, actor=actor, reason=reason, restock=restock)
