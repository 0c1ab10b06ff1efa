"""After-sale (售后): the shopper asks for a refund, the merchant decides.

What a request is worth is computed here, never taken from the request: the
goods of the chosen lines (unit price x quantity), plus the shipping fee only
for a whole-order refund of an order not shipped yet. Every write locks the
order row first (then the request, then the payment), so approving twice, or
a shopper and the merchant acting at once, refunds once.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.money import ZERO

from . import notifications, refunds
from .models import AfterSaleLine, AfterSaleRequest, Order
from .services import AFTER_SALE_NOTE, locked


class AfterSaleError(refunds.RefundError):
    """An after-sale request or decision refused; str() is a message for people."""


@dataclass(frozen=True)
class Quote:
    lines: list[tuple[int, int, Decimal]]  # (order line id, quantity, amount)
    goods: Decimal
    shipping: Decimal

    @property
    def total(self) -> Decimal:
        return self.goods + self.shipping


def open_request(order: Order) -> AfterSaleRequest | None:
    return order.after_sales.filter(status__in=AfterSaleRequest.OPEN_STATUSES).first()


def can_request(order: Order, *, now=None) -> bool:
    """Whether the shopper may ask for a refund of `order` now (ignoring open requests)."""
    if order.status not in Order.AFTER_SALE_STATUSES:
        return False
    deadline = order.after_sale_deadline
    return deadline is None or (now or timezone.now()) <= deadline


def quote(order: Order, kind: str, quantities: dict[int, int] | None = None) -> Quote:
    """What refunding `quantities` (order line id -> how many) of `order` is worth.

    A whole-order refund takes everything not refunded yet. Raises
    AfterSaleError for an unknown line, a quantity below 1 or more than is left.
    """
    left = refunds.refundable(order)
    if kind == AfterSaleRequest.Kind.WHOLE_ORDER:
        quantities = left.everything
    elif kind == AfterSaleRequest.Kind.LINES:
        quantities = {pk: qty for pk, qty in (quantities or {}).items() if qty}
    else:
        raise AfterSaleError(_("Choose what to refund."))
    if not quantities:
        raise AfterSaleError(_("Choose at least one item to refund."))
    lines = []
    for pk, quantity in sorted(quantities.items()):
        if pk not in left.quantities:
            raise AfterSaleError(_("That item is not part of this order."))
        if quantity < 1 or quantity > left.quantities[pk]:
            raise AfterSaleError(
                _("You can ask for a refund of at most %(count)d of this item.")
                % {"count": left.quantities[pk]}
            )
        lines.append((pk, quantity, left.goods({pk: quantity})))
    goods = left.goods(quantities)
    shipping = left.shipping if left.is_all(quantities) and order.shipped_at is None else ZERO
    if goods + shipping <= 0:  # a gift alone (paid 0.00) has nothing to give back
        raise AfterSaleError(_("Nothing of what you chose was paid for, so nothing is refunded."))
    return Quote(lines=lines, goods=goods, shipping=shipping)


@transaction.atomic
def request_refund(
    order: Order,
    *,
    user,
    kind: str,
    reason: str,
    reason_text: str = "",
    quantities: dict[int, int] | None = None,
) -> AfterSaleRequest:
    """Open an after-sale request for the shopper's own order.

    Refused (AfterSaleError, nothing created) outside the after-sale window or
    state, while another request is open, or for more than is left unrefunded.
    """
    order = locked(order)
    if order.user_id != user.pk:
        raise AfterSaleError(_("This is not your order."))
    if reason not in AfterSaleRequest.Reason.values:
        raise AfterSaleError(_("Choose a reason."))
    if not can_request(order):
        raise AfterSaleError(
            _("Order %(number)s can no longer be refunded.") % {"number": order.number}
        )
    if open_request(order) is not None:
        raise AfterSaleError(_("You already have an open request for this order."))
    priced = quote(order, kind, quantities)
    try:
        with transaction.atomic():
            request = AfterSaleRequest.objects.create(
                order=order,
                kind=kind,
                reason=reason,
                reason_text=reason_text.strip()[:500],
                goods_amount=priced.goods,
                shipping_amount=priced.shipping,
                amount=priced.total,
                requested_by=user,
            )
    except IntegrityError:
        raise AfterSaleError(_("You already have an open request for this order.")) from None
    AfterSaleLine.objects.bulk_create(
        AfterSaleLine(request=request, order_line_id=pk, quantity=qty, amount=amount)
        for pk, qty, amount in priced.lines
    )
    return request


def _locked_open(request: AfterSaleRequest) -> tuple[Order, AfterSaleRequest]:
    order = locked(Order(pk=request.order_id))
    request = AfterSaleRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != AfterSaleRequest.Status.REQUESTED:
        raise AfterSaleError(
            _("This request was already decided: %(status)s.")
            % {"status": request.get_status_display()}
        )
    return order, request


@transaction.atomic
def approve(
    request: AfterSaleRequest, *, actor, note: str = "", restock: bool = True
) -> AfterSaleRequest:
    """Refund the request, once, through the one refund service (orders.refunds).

    That gives the money back at the gateway, puts the goods back in stock if
    `restock`, moves the order to REFUNDED (nothing left) or PARTIALLY_REFUNDED
    and reverses the commissions in proportion to the goods refunded so far. A
    request already decided is refused (AfterSaleError) and refunds nothing; so
    is a refund the order, the payment or the gateway cannot take (RefundError,
    PaymentError), with nothing changed.
    """
    order, request = _locked_open(request)
    order = refunds.refund_order(
        order,
        actor=actor,
        reason=f"{AFTER_SALE_NOTE} {request.pk}: {request.get_reason_display()}",
        restock=restock,
        after_sale=request,
    )
    request.status = AfterSaleRequest.Status.REFUNDED
    request.decided_by, request.decided_at = actor, timezone.now()
    request.decision_note, request.restock = note.strip()[:500], restock
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "restock"])
    notifications.refund_decided(order, after_sale=request)
    return request


@transaction.atomic
def reject(request: AfterSaleRequest, *, actor, note: str) -> AfterSaleRequest:
    """Turn the request down with a reason the shopper reads; the order is unchanged."""
    if not note.strip():
        raise AfterSaleError(_("Tell the shopper why the request is rejected."))
    order, request = _locked_open(request)
    request.status = AfterSaleRequest.Status.REJECTED
    request.decided_by, request.decided_at = actor, timezone.now()
    request.decision_note = note.strip()[:500]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    notifications.refund_decided(order, after_sale=request)
    return request
