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
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import inventory
from commissions import services as commission_services
from core.money import ZERO, format_cny, to_cents

from . import notifications
from .models import AfterSaleLine, AfterSaleRequest, Order
from .services import OrderError, _locked, _transition, unrefunded_quantities


class AfterSaleError(OrderError):
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
    left = unrefunded_quantities(order)
    if kind == AfterSaleRequest.Kind.WHOLE_ORDER:
        quantities = {pk: qty for pk, qty in left.items() if qty > 0}
    elif kind == AfterSaleRequest.Kind.LINES:
        quantities = {pk: qty for pk, qty in (quantities or {}).items() if qty}
    else:
        raise AfterSaleError(_("Choose what to refund."))
    if not quantities:
        raise AfterSaleError(_("Choose at least one item to refund."))
    prices = dict(order.lines.values_list("pk", "unit_price"))
    lines = []
    for pk, quantity in sorted(quantities.items()):
        if pk not in left:
            raise AfterSaleError(_("That item is not part of this order."))
        if quantity < 1 or quantity > left[pk]:
            raise AfterSaleError(
                _("You can ask for a refund of at most %(count)d of this item.")
                % {"count": left[pk]}
            )
        lines.append((pk, quantity, to_cents(prices[pk] * quantity)))
    goods = sum((amount for _pk, _qty, amount in lines), ZERO)
    everything = all(left[pk] == quantities.get(pk, 0) for pk in left if left[pk])
    shipping_refunded = (
        order.after_sales.filter(status=AfterSaleRequest.Status.REFUNDED).aggregate(
            total=Sum("shipping_amount")
        )["total"]
        or ZERO
    )
    shipping = (
        order.shipping_fee - shipping_refunded if everything and order.shipped_at is None else ZERO
    )
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
    order = _locked(order)
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
    order = _locked(Order(pk=request.order_id))
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
    """Refund the request through the order's payment gateway, once.

    Puts the goods back in stock if `restock`, moves the order to REFUNDED
    (nothing left) or PARTIALLY_REFUNDED, and reverses the commissions in
    proportion to the goods refunded so far. A request already decided is
    refused (AfterSaleError) and refunds nothing; so is a refund the gateway
    or the payment cannot take (PaymentError), with nothing changed.
    """
    from payments import services as payment_services  # payments depends on orders

    order, request = _locked_open(request)
    left = unrefunded_quantities(order)
    lines = list(request.lines.select_related("order_line"))
    for line in lines:
        if line.quantity > left[line.order_line_id]:
            raise AfterSaleError(_("Part of this request was already refunded."))
        left[line.order_line_id] -= line.quantity
    everything = not any(left.values())
    to_status = Order.Status.REFUNDED if everything else Order.Status.PARTIALLY_REFUNDED
    if not order.can_become(to_status):
        raise AfterSaleError(
            _("Order %(number)s is %(status)s and cannot be refunded.")
            % {"number": order.number, "status": order.get_status_display()}
        )
    reason = f"after-sale {request.pk}: {request.get_reason_display()}"
    payment_services.refund_payment(
        payment_services.succeeded_payment(order),
        request.amount,
        reason=reason,
        actor=actor,
        after_sale=request,
    )
    request.status = AfterSaleRequest.Status.REFUNDED
    request.decided_by, request.decided_at = actor, timezone.now()
    request.decision_note, request.restock = note.strip()[:500], restock
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "restock"])
    if restock:
        inventory.put_back(
            [(line.order_line.variant_id, line.quantity) for line in lines],
            kind=inventory.Kind.RETURNED,
            reference=order.number,
            actor=actor,
            reason=reason,
        )
    order.refunded_total += request.amount
    order.save(update_fields=["refunded_total"])
    _transition(order, to_status, actor=actor, note=f"{reason} {format_cny(request.amount)}")
    # Accrual runs in a task after payment; if it has not run yet, run it now
    # (idempotent, under the order lock we hold) so there is something to reverse.
    commission_services.accrue_commissions(order.pk)
    goods_refunded = order.after_sales.filter(status=AfterSaleRequest.Status.REFUNDED).aggregate(
        total=Sum("goods_amount")
    )["total"]
    commission_services.reverse_order_commissions(
        order, reason="refund", refunded=None if everything else goods_refunded
    )
    notifications.schedule(order, notifications.REFUND_DECIDED, after_sale=request)
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
    notifications.schedule(order, notifications.REFUND_DECIDED, after_sale=request)
    return request
