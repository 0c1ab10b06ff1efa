"""Payments: starting one, taking a gateway's notification, refunding.

A notification is handled under the payment's row lock and skipped when the
payment already succeeded, so one delivered many times (also concurrently)
moves the order once.
"""

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import ZERO, format_cny
from orders import services as order_services
from orders.models import Order

from .gateways import Notification, RefundFailed, get_gateway
from .models import Payment, PaymentNotification, Refund

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
    refund_payment(payment, payment.amount - refunded_amount(payment), reason=reason)


def refunded_amount(payment: Payment) -> Decimal:
    return payment.refunds.aggregate(total=Sum("amount"))["total"] or ZERO


def succeeded_payment(order: Order) -> Payment:
    """The payment that paid `order`; PaymentError if there is none."""
    payment = order.payments.filter(status=Payment.Status.SUCCEEDED).order_by("pk").first()
    if payment is None:
        raise PaymentError(
            _("Order %(number)s has no successful payment to refund.") % {"number": order.number}
        )
    return payment


@transaction.atomic
def refund_payment(
    payment: Payment, amount: Decimal, *, reason: str, actor=None, after_sale=None
) -> Refund:
    """Give `amount` of a successful payment back through its gateway; records a Refund.

    Locks the payment row and refuses (PaymentError, nothing changed) an amount
    that is not positive or more than what is left unrefunded; the payment
    becomes REFUNDED when nothing is left. An after-sale request is refunded at
    most once (a second Refund for it violates a unique constraint). The gateway
    is called inside the transaction: if it refuses, nothing is recorded.
    """
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != Payment.Status.SUCCEEDED:
        raise PaymentError(
            _("Payment %(reference)s is %(status)s and cannot be refunded.")
            % {"reference": payment.reference, "status": payment.get_status_display()}
        )
    left = payment.amount - refunded_amount(payment)
    if amount <= ZERO or amount > left:
        raise PaymentError(
            _("Cannot refund %(amount)s: %(left)s is left to refund of this payment.")
            % {"amount": format_cny(amount), "left": format_cny(left)}
        )
    # Numbered under the payment's row lock: a retry after a failed commit asks the
    # gateway again with the same number, and the gateway does not pay twice.
    request_no = f"{payment.reference}-R{payment.refunds.count() + 1:02d}"
    try:
        reference = get_gateway(payment.gateway).refund(
            payment, amount, reason, request_no=request_no
        )
    except RefundFailed as exc:
        raise PaymentError(
            _("The payment provider refused the refund: %(why)s") % {"why": exc}
        ) from exc
    refund = Refund.objects.create(
        payment=payment,
        after_sale=after_sale,
        amount=amount,
        reason=reason[:255],
        request_no=request_no,
        gateway_reference=reference,
        actor=actor,
    )
    payment.refund_reference = reference
    fields = ["refund_reference"]
    if amount == left:
        payment.status = Payment.Status.REFUNDED
        payment.refunded_at = timezone.now()
        fields += ["status", "refunded_at"]
    payment.save(update_fields=fields)
    return refund


@transaction.atomic
def refund_order(order: Order, *, actor, reason: str = "", restock: bool = True) -> Order:
    """Refund what is left of a paid order through its gateway; commissions are reversed.

    After partial refunds, only the money and goods not yet given back are.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    if not order.can_become(Order.Status.REFUNDED):
        raise order_services.InvalidTransition(order, Order.Status.REFUNDED)
    payment = succeeded_payment(order)
    refund_payment(payment, payment.amount - refunded_amount(payment), reason=reason, actor=actor)
    return order_services.mark_refunded(order, actor=actor, reason=reason, restock=restock)
