"""Payments: starting one, taking a gateway's notification, refunding.

A notification is handled under the payment's row lock and skipped when the
payment already succeeded, or when the provider's id shows that very
notification was recorded before, so one delivered many times (also
concurrently) moves the order once. A trade query (reconciliation) goes
through the same path as a notification.

Refunds only move money: the refund workflow of an order (what is left, stock,
status, commissions) is orders.refunds', which calls refund_payment. Refunds
are numbered under the payment's lock; a refund the gateway accepted but
finishes later is PROCESSING until its notification or a query says SUCCEEDED
(the money is back) or FAILED; that settles the Refund and the Payment only,
the order having been refunded when the gateway accepted.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core import logs
from core.errors import ServiceError
from core.money import ZERO, format_cny
from core.site import public_url
from orders import services as order_services
from orders.models import Order

from .gateways import (
    Checkout,
    GatewayError,
    Notification,
    RefundFailed,
    RefundResult,
    get_gateway,
)
from .gateways import base as states
from .models import Payment, PaymentNotification, Refund

logger = logging.getLogger(__name__)

# How long what a gateway gave us to pay with is shown again: a QR code or JSAPI
# prepay for an hour; a redirect (Alipay's signed URL, WeChat's h5_url) is made
# anew after a few minutes.
CHECKOUT_REUSE = {
    "qr_code": timedelta(hours=1),
    "jsapi": timedelta(hours=1),
    "redirect_url": timedelta(minutes=4),
}


class PaymentError(ServiceError):
    """A payment request refused; str() is a message for people."""


class UnknownPayment(PaymentError):
    pass


class AmountMismatch(PaymentError):
    pass


class GatewayUnavailable(PaymentError):
    def __init__(self, why=""):
        super().__init__(
            _("The payment provider could not be reached. Please try again in a moment.")
        )
        self.why = str(why)


def notify_url(gateway_code: str, *, kind: str = "payment", request=None) -> str:
    """Where `gateway_code` posts its notifications of `kind` (payment, refund, transfer).

    PAYMENT_NOTIFY_BASE_URL when set, else SITE_URL (see core.site.public_url).
    """
    if kind == "payment":
        path = reverse("payments:notify", args=[gateway_code])
    else:
        path = reverse("payments:notify_kind", args=[gateway_code, kind])
    return public_url(path, base=settings.PAYMENT_NOTIFY_BASE_URL, request=request)


def return_url(payment: Payment, *, request=None) -> str:
    """Where the gateway sends the shopper back after paying `payment` (SITE_URL)."""
    return public_url(reverse("payments_pages:return", args=[payment.reference]), request=request)


@transaction.atomic
def start_payment(order: Order, *, gateway_code: str, channel: str | None = None) -> Payment:
    """The payment to send the shopper to pay `order` with; reused while unpaid.

    One payment per gateway and way to pay (a WeChat trade opened as a QR code
    cannot be paid in WeChat's browser under the same number); whichever is
    paid first pays the order, and a second one paid later is refunded.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.status != Order.Status.PENDING_PAYMENT:
        raise PaymentError(
            _("This order cannot be paid: it is %(status)s.")
            % {"status": order.get_status_display()}
        )
    if timezone.now() >= order.unpaid_deadline():
        # the cancel task has not run yet, but the shopper's time to pay is up
        raise PaymentError(_("The time to pay this order is up: it will be cancelled."))
    gateway = get_gateway(gateway_code)  # LookupError for a gateway we do not offer
    channel = channel or gateway.channels[0]
    if channel not in gateway.channels:
        raise LookupError(channel)
    payment = order.payments.filter(
        gateway=gateway_code, channel=channel, status=Payment.Status.CREATED
    ).first()
    if payment is None or payment.amount != order.total:
        payment = Payment.objects.create(
            order=order, gateway=gateway_code, channel=channel, amount=order.total
        )
    return payment


def open_checkout(payment: Payment, *, request, return_url: str, openid: str = "") -> Checkout:
    """Open `payment` at its gateway and say how the shopper pays it.

    What the gateway answered is kept on the payment, so reopening the cashier
    shows the same QR code or prepay instead of opening a second trade.
    Raises GatewayUnavailable when the gateway cannot be reached.
    """
    kept = payment.checkout or {}
    if kept.get("at"):
        age = timezone.now() - datetime.fromisoformat(kept["at"])
        for key, reuse in CHECKOUT_REUSE.items():
            if kept.get(key) and age < reuse:
                return Checkout(**{key: kept[key]})
    try:
        checkout = get_gateway(payment.gateway).start(
            payment,
            request=request,
            notify_url=notify_url(payment.gateway, request=request),
            return_url=return_url,
            openid=openid,
        )
    except GatewayError as exc:
        logger.warning("could not open %s at %s: %s", payment.reference, payment.gateway, exc)
        raise GatewayUnavailable(exc) from exc
    now = timezone.now()
    payment.checkout = {
        key: value
        for key, value in {
            "at": now.isoformat(),
            "redirect_url": checkout.redirect_url,
            "qr_code": checkout.qr_code,
            "jsapi": checkout.jsapi,
        }.items()
        if value
    }
    Payment.objects.filter(pk=payment.pk).update(
        checkout=payment.checkout, started_at=payment.started_at or now
    )
    return checkout


def record_refused(gateway_code: str, notification: Notification, why: str) -> None:
    """Keep a verified notification we refused (unknown trade, wrong amount), for finance."""
    PaymentNotification.objects.create(
        gateway=gateway_code,
        payment=Payment.objects.filter(
            gateway=gateway_code, reference=notification.reference
        ).first(),
        payload=notification.payload,
        outcome=f"refused: {why}"[:64],
    )


@transaction.atomic
def handle_notification(
    gateway_code: str, notification: Notification, *, kind: str = PaymentNotification.Kind.PAYMENT
) -> str:
    """Apply a verified notification (or a trade query's answer); returns what happened.

    "paid", "duplicate", "not-successful" or "refunded" (paid after the order
    could no longer be paid: the money goes back at once). Raises
    UnknownPayment or AmountMismatch, with nothing changed.
    """
    payment = (
        Payment.objects.select_for_update()
        .filter(gateway=gateway_code, reference=notification.reference)
        .first()
    )
    if payment is None:
        raise UnknownPayment(notification.reference)
    logs.bind(payment=payment.reference)
    if notification.amount != payment.amount:
        raise AmountMismatch(f"{notification.amount} != {payment.amount}")
    notification_id = notification.notification_id
    if (
        notification_id
        and PaymentNotification.objects.filter(
            gateway=gateway_code, kind=kind, notification_id=notification_id
        ).exists()
    ):
        # Kept for audit like any delivery, without the id that is unique to the first.
        outcome, notification_id = "duplicate", ""
    elif not notification.succeeded:
        outcome = "not-successful"
    elif payment.status not in (Payment.Status.CREATED, Payment.Status.CLOSED):
        outcome = "duplicate"
    else:
        # A CLOSED payment can still be paid: the shopper paid while we closed it.
        payment.status = Payment.Status.SUCCEEDED
        payment.gateway_trade_no = notification.trade_no
        payment.succeeded_at = timezone.now()
        payment.save(update_fields=["status", "gateway_trade_no", "succeeded_at"])
        outcome = _settle(payment)
    PaymentNotification.objects.create(
        gateway=gateway_code,
        kind=kind,
        payment=payment,
        notification_id=notification_id,
        payload=notification.payload,
        outcome=outcome,
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
        refund_payment(payment, left_to_refund(payment), reason="order no longer payable")
        return "refunded"
    return "paid"


def close_unpaid_payments(order: Order) -> int:
    """Close at the gateway every payment of a cancelled `order` still awaiting payment.

    Raises GatewayError (after closing the others) if a gateway could not be
    reached: the caller's task retries. A trade paid meanwhile is left to its
    notification (or the query), which refunds it.
    """
    failed = None
    closed = 0
    for payment in order.payments.filter(status=Payment.Status.CREATED).order_by("pk"):
        try:
            if payment.started_at is not None:
                get_gateway(payment.gateway).close(payment)
        except GatewayError as exc:
            failed = exc
            continue
        except LookupError:  # a gateway no longer offered: nothing to ask, close ours
            logger.warning(
                "payment %s: gateway %s is not offered", payment.reference, payment.gateway
            )
        closed += Payment.objects.filter(pk=payment.pk, status=Payment.Status.CREATED).update(
            status=Payment.Status.CLOSED, closed_at=timezone.now()
        )
    if failed is not None:
        raise failed
    return closed


def _total(refunds) -> Decimal:
    return refunds.aggregate(total=Sum("amount"))["total"] or ZERO


def refunded_amount(payment: Payment) -> Decimal:
    """What is given back of `payment` or on its way back (a failed refund gives nothing)."""
    return _total(payment.refunds.exclude(status=Refund.Status.FAILED))


def left_to_refund(payment: Payment) -> Decimal:
    """The most that can still be given back of `payment`: no refund ever exceeds it."""
    return payment.amount - refunded_amount(payment)


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
    that is not positive or more than what is left unrefunded. An after-sale
    request is refunded at most once (a second Refund for it violates a unique
    constraint). The gateway is called inside the transaction: if it refuses,
    or cannot be reached, nothing is recorded and a retry asks it again with
    the same request number. A refund the gateway finishes later is recorded
    PROCESSING; the payment becomes REFUNDED once refunds that SUCCEEDED cover it.
    """
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != Payment.Status.SUCCEEDED:
        raise PaymentError(
            _("Payment %(reference)s is %(status)s and cannot be refunded.")
            % {"reference": payment.reference, "status": payment.get_status_display()}
        )
    left = left_to_refund(payment)
    if amount <= ZERO or amount > left:
        raise PaymentError(
            _("Cannot refund %(amount)s: %(left)s is left to refund of this payment.")
            % {"amount": format_cny(amount), "left": format_cny(left)}
        )
    # Numbered under the payment's row lock: a retry after a failed commit asks the
    # gateway again with the same number, and the gateway does not pay twice.
    request_no = f"{payment.reference}-R{payment.refunds.count() + 1:02d}"
    gateway = get_gateway(payment.gateway)
    try:
        result = gateway.refund(
            payment,
            amount,
            reason,
            request_no=request_no,
            notify_url=notify_url(payment.gateway, kind="refund"),
        )
    except RefundFailed as exc:
        result = RefundResult(request_no=request_no, state=states.CLOSED, reason=str(exc))
    except GatewayError as exc:
        raise GatewayUnavailable(exc) from exc
    if result.state == states.CLOSED:
        raise PaymentError(
            _("The payment provider refused the refund: %(why)s") % {"why": result.reason}
        )
    succeeded = result.state == states.SUCCEEDED
    refund = Refund.objects.create(
        payment=payment,
        after_sale=after_sale,
        amount=amount,
        reason=reason[:255],
        request_no=request_no,
        gateway_reference=result.gateway_reference,
        status=Refund.Status.SUCCEEDED if succeeded else Refund.Status.PROCESSING,
        succeeded_at=timezone.now() if succeeded else None,
        actor=actor,
    )
    payment.refund_reference = result.gateway_reference
    payment.save(update_fields=["refund_reference"])
    _close_if_refunded(payment)
    return refund


def _close_if_refunded(payment: Payment) -> None:
    """REFUNDED once the refunds that succeeded give back the whole payment."""
    back = _total(payment.refunds.filter(status=Refund.Status.SUCCEEDED))
    if back == payment.amount and payment.status == Payment.Status.SUCCEEDED:
        payment.status = Payment.Status.REFUNDED
        payment.refunded_at = timezone.now()
        payment.save(update_fields=["status", "refunded_at"])


@transaction.atomic
def settle_refund(gateway_code: str, result: RefundResult, *, kind=None) -> str:
    """Apply what the gateway says of a refund (its notification or a query's answer).

    Locks the payment, then the refund; a refund already SUCCEEDED or FAILED
    is left as it is ("duplicate"). Raises UnknownPayment for a refund number
    we never asked for, with nothing changed.
    """
    refund = Refund.objects.filter(
        request_no=result.request_no, payment__gateway=gateway_code
    ).first()
    if refund is None:
        raise UnknownPayment(result.request_no)
    payment = Payment.objects.select_for_update().get(pk=refund.payment_id)
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.status != Refund.Status.PROCESSING:
        outcome = "duplicate"
    elif result.state == states.PENDING:
        outcome = "processing"
        if result.reason and result.reason != refund.failure_reason:
            # Not final, but stuck until finance acts (WeChat's ABNORMAL): say why.
            logger.warning(
                "refund %s is stuck at %s: %s", refund.request_no, gateway_code, result.reason
            )
            refund.failure_reason = result.reason[:255]
            refund.save(update_fields=["failure_reason"])
    elif result.state == states.SUCCEEDED:
        refund.status, refund.succeeded_at = Refund.Status.SUCCEEDED, timezone.now()
        if result.gateway_reference:
            refund.gateway_reference = result.gateway_reference
        refund.save(update_fields=["status", "succeeded_at", "gateway_reference"])
        _close_if_refunded(payment)
        outcome = "refunded"
    else:
        refund.status = Refund.Status.FAILED
        refund.failure_reason = (result.reason or _("refused by the payment provider"))[:255]
        refund.save(update_fields=["status", "failure_reason"])
        logger.error("refund %s failed at %s: %s", refund.request_no, gateway_code, result.reason)
        outcome = "refund-failed"
    PaymentNotification.objects.create(
        gateway=gateway_code,
        kind=kind or PaymentNotification.Kind.REFUND,
        payment=payment,
        payload=result.payload or {"request_no": result.request_no, "state": result.state},
        outcome=outcome,
    )
    return outcome


@transaction.atomic
def retry_failed_refund(refund: Refund, *, actor) -> Refund:
    """Ask the gateway again, under a new number, for a refund that FAILED there; once.

    Locks the payment, then the refund (the order settle_refund takes them in),
    so two staff retrying at once make one new refund.
    """
    Payment.objects.select_for_update().get(pk=refund.payment_id)
    refund = Refund.objects.select_for_update().get(pk=refund.pk)
    if refund.status != Refund.Status.FAILED or refund.retried_as_id:
        raise PaymentError(_("Only a failed refund not tried again yet can be tried again."))
    again = refund_payment(
        refund.payment, refund.amount, reason=f"retry of {refund.request_no}", actor=actor
    )
    refund.retried_as = again
    refund.save(update_fields=["retried_as"])
    return again
