"""The one refund service (退款) of an order, whoever asks for it.

The merchant's full refund (the admin action) and an approved after-sale
request both come here. Orders own the workflow; payments only moves the money
back at the gateway (and later learns, by notification or query, whether it
arrived: that changes the Refund row only, never the order). One call, under
the order's row lock and in one transaction:

1. checks what is asked against what is left (`refundable`),
2. asks payments to give the money back (nothing changes if the gateway refuses),
3. puts the goods back in stock (unless told not to),
4. adds to `refunded_total` and moves the order to REFUNDED or PARTIALLY_REFUNDED,
5. accrues the order's commissions if the accrual task has not run yet, so that
6. the reversal, in proportion to the goods refunded, has something to take back;
7. a refund of everything also reverses the order's recruitment reward (拉新奖励);
8. the merchant's refund tells the shopper (an after-sale decision tells them from
   orders.aftersale, with the request).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from catalog import inventory
from commissions import services as commission_services
from core.money import ZERO, format_cny, to_cents
from marketing import rewards
from payments import services as payment_services

from . import notifications
from .models import AfterSaleLine, AfterSaleRequest, Order
from .services import OrderError, locked, transition


class RefundError(OrderError):
    """A refund refused before any money moved; str() is a message for people."""


@dataclass(frozen=True)
class Refundable:
    """What is left to refund of an order.

    Goods are given back at what they were paid (a line's paid amount, after
    its shares of the discounts), never at their list price: the first n of a
    line's q units are worth its paid amount times n / q, rounded down, and a
    refund of more units gives back the difference, so a line refunded in
    several steps gives back exactly its paid amount in all, never more.
    """

    quantities: dict[int, int]  # order line id -> how many not refunded yet
    ordered: dict[int, int]  # order line id -> how many were ordered
    paid: dict[int, Decimal]  # order line id -> the line's paid amount
    variants: dict[int, int]  # order line id -> variant id
    shipping: Decimal  # the shipping fee not given back yet
    amount: Decimal  # the money not given back yet (goods and shipping)

    @property
    def everything(self) -> dict[int, int]:
        """The lines with something left, and how many."""
        return {pk: qty for pk, qty in self.quantities.items() if qty > 0}

    def _worth(self, pk: int, units: int) -> Decimal:
        """What the first `units` of a line are worth, of its paid amount."""
        return to_cents(self.paid[pk] * units / self.ordered[pk])

    def _refunded(self, pk: int) -> int:
        return self.ordered[pk] - self.quantities[pk]

    def goods(self, quantities: dict[int, int]) -> Decimal:
        """What refunding `quantities` (order line id -> how many) more gives back."""
        return sum(
            (
                self._worth(pk, self._refunded(pk) + qty) - self._worth(pk, self._refunded(pk))
                for pk, qty in quantities.items()
            ),
            ZERO,
        )

    def goods_refunded_after(self, quantities: dict[int, int]) -> Decimal:
        """The goods given back in all once `quantities` more are refunded."""
        return sum(
            (self._worth(pk, self._refunded(pk) + quantities.get(pk, 0)) for pk in self.ordered),
            ZERO,
        )

    def is_all(self, quantities: dict[int, int]) -> bool:
        """Whether refunding `quantities` leaves no goods unrefunded."""
        return all(quantities.get(pk, 0) == qty for pk, qty in self.everything.items())


def refundable(order: Order) -> Refundable:
    """What is left to refund of `order`: the one computation every refund path uses.

    Quantities and shipping come from the after-sale refunds made; the money
    from `refunded_total`, which every refund adds to (a full refund sets it to
    the total). Three queries.
    """
    lines = list(order.lines.values_list("pk", "quantity", "paid_amount", "variant_id"))
    quantities = {pk: quantity for pk, quantity, _paid, _variant in lines}
    refunded = AfterSaleLine.objects.filter(
        request__order=order, request__status=AfterSaleRequest.Status.REFUNDED
    ).values_list("order_line_id", "quantity")
    for line_id, quantity in refunded:
        quantities[line_id] -= quantity
    shipping_back = (
        order.after_sales.filter(status=AfterSaleRequest.Status.REFUNDED).aggregate(
            total=Sum("shipping_amount")
        )["total"]
        or ZERO
    )
    return Refundable(
        quantities=quantities,
        ordered={pk: quantity for pk, quantity, _paid, _variant in lines},
        paid={pk: paid for pk, _quantity, paid, _variant in lines},
        variants={pk: variant for pk, _quantity, _paid, variant in lines},
        shipping=order.shipping_fee - shipping_back,
        amount=order.total - order.refunded_total,
    )


@transaction.atomic
def refund_order(
    order: Order,
    *,
    actor=None,
    reason: str = "",
    restock: bool = True,
    after_sale: AfterSaleRequest | None = None,
) -> Order:
    """Give back the lines and amount of `after_sale`, or everything left of the order.

    Everything left (no `after_sale`, the merchant's full refund) is the goods
    not refunded yet and all the money not given back, shipping included. The
    caller decides the request afterwards. Locks the order row first (then
    payments locks the payment), so two refunds of one order run one after the
    other and the second sees what the first gave back. Refuses (RefundError,
    PaymentError; nothing changed) more than is left, an order whose status
    cannot become refunded, and a refund the gateway does not take. Returns the
    locked, updated order.
    """
    order = locked(order)
    left = refundable(order)
    if after_sale is None:
        quantities, amount = left.everything, left.amount
    else:
        quantities = dict(after_sale.lines.values_list("order_line_id", "quantity"))
        amount = after_sale.amount
    for pk, quantity in quantities.items():
        if quantity < 1 or quantity > left.quantities.get(pk, 0):
            raise RefundError(_("Part of this refund was already given back."))
    if amount > left.amount:
        raise RefundError(
            _("Cannot refund %(amount)s: %(left)s is left to refund of this order.")
            % {"amount": format_cny(amount), "left": format_cny(left.amount)}
        )
    everything = left.is_all(quantities)
    to_status = Order.Status.REFUNDED if everything else Order.Status.PARTIALLY_REFUNDED
    if not order.can_become(to_status):
        raise RefundError(
            _("Order %(number)s is %(status)s and cannot be refunded.")
            % {"number": order.number, "status": order.get_status_display()}
        )

    payment_services.refund_payment(
        payment_services.succeeded_payment(order),
        amount,
        reason=reason,
        actor=actor,
        after_sale=after_sale,
    )
    if restock:
        inventory.put_back(
            [(left.variants[pk], quantity) for pk, quantity in sorted(quantities.items())],
            kind=inventory.Kind.RETURNED,
            reference=order.number,
            actor=actor,
            reason=reason,
        )
    # Accrual runs in a task after payment; if it has not run yet, run it now
    # (idempotent, under the order lock we hold, while the order still counts as
    # paid) so that there is something to reverse and the late task adds nothing.
    commission_services.accrue_commissions(order.pk)
    order.refunded_total += amount
    order.save(update_fields=["refunded_total"])
    transition(order, to_status, actor=actor, note=f"{reason} {format_cny(amount)}".strip())
    commission_services.reverse_order_commissions(
        order,
        reason="refund",
        refunded=None if everything else left.goods_refunded_after(quantities),
    )
    if everything:
        rewards.reverse(order, reason="refund")
    if after_sale is None:  # an after-sale request's decision tells the shopper itself
        notifications.refund_decided(order, amount=amount)
    return order
