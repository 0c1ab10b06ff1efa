"""Reads of the shopper's orders, each a fixed number of queries."""

import uuid
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog.models import ProductImage

from .models import AfterSaleRequest, Order, OrderLine, ShippingSettings, TrackingEvent


def order_placed_with(user, token) -> Order | None:
    """The user's order made with checkout ``token`` (a UUID or its text), if any."""
    try:
        token = uuid.UUID(str(token))
    except ValueError:
        return None
    return Order.objects.filter(user=user, checkout_token=token).first()


S = Order.Status


def _open_after_sale() -> Exists:
    return Exists(
        AfterSaleRequest.objects.filter(
            order=OuterRef("pk"), status__in=AfterSaleRequest.OPEN_STATUSES
        )
    )


# The order list's tabs (全部 / 待付款 / 待发货 / 待收货 / 售后), in their order: the query
# parameter's value, its label and which orders it shows (None: all of them).
ORDER_TABS = {
    "all": (_("All"), None),
    "pending_payment": (_("To pay"), Q(status=S.PENDING_PAYMENT)),
    # paid and not shipped yet (a partial refund before shipping leaves the rest to ship)
    "to_ship": (
        _("To ship"),
        Q(status=S.PAID) | Q(status=S.PARTIALLY_REFUNDED, shipped_at__isnull=True),
    ),
    # on its way or delivered, and the shopper has not confirmed receipt
    "to_receive": (
        _("To receive"),
        Q(
            status__in=(S.SHIPPED, S.DELIVERED, S.PARTIALLY_REFUNDED),
            shipped_at__isnull=False,
            received_at__isnull=True,
        ),
    ),
    # an open refund request, or money already given back
    "after_sale": (
        _("After-sale"),
        Q(has_open_after_sale=True) | Q(status__in=(S.REFUNDED, S.PARTIALLY_REFUNDED)),
    ),
}


def customers_who_paid(user_ids, *, excluding_order=None) -> set[int]:
    """Which of `user_ids` ever paid for an order (other than `excluding_order`): the
    shoppers who are not new customers (新客). Paid then refunded counts as paid: a
    refund makes nobody new. One query."""
    paid = Order.objects.filter(user__in=list(user_ids), paid_at__isnull=False)
    if excluding_order is not None:
        paid = paid.exclude(pk=excluding_order.pk)
    return set(paid.values_list("user", flat=True).distinct())


def is_new_customer(user, *, excluding_order=None) -> bool:
    """Whether `user` never paid for an order (other than `excluding_order`). One query."""
    return not customers_who_paid([user.pk], excluding_order=excluding_order)


def order_tab(value) -> str:
    """The tab asked for; anything unknown is "all"."""
    return value if value in ORDER_TABS else "all"


def order_tab_counts(user) -> dict[str, int]:
    """How many of the shopper's orders each tab shows (1 query)."""
    orders = Order.objects.filter(user=user).annotate(has_open_after_sale=_open_after_sale())
    counts = orders.aggregate(
        **{
            name: Count("pk", filter=condition) if condition is not None else Count("pk")
            for name, (_label, condition) in ORDER_TABS.items()
        }
    )
    return {name: counts[name] or 0 for name in ORDER_TABS}


def orders_of(user, tab: str = "all") -> QuerySet[Order]:
    """The shopper's orders in ``tab``, newest first, with their lines, each line with
    its product's cover picture (one query for the page, one for its lines).
    """
    condition = ORDER_TABS[order_tab(tab)][1]
    orders = Order.objects.filter(user=user).annotate(has_open_after_sale=_open_after_sale())
    if condition is not None:
        orders = orders.filter(condition)
    lines = Prefetch("lines", queryset=lines_with_covers())
    return orders.prefetch_related(lines).order_by("-created_at", "-pk")


def lines_with_covers() -> QuerySet[OrderLine]:
    """Order lines annotated with ``cover``: the file name of their product's first picture."""
    cover = (
        ProductImage.objects.filter(product=OuterRef("variant__product"))
        .order_by("position", "pk")
        .values("image")[:1]
    )
    return OrderLine.objects.annotate(cover=Subquery(cover)).order_by("pk")


def set_payment_deadlines(orders) -> None:
    """Give each order ``payment_deadline``, when it is cancelled if still unpaid (None
    for any other order), and ``payment_seconds_left`` until then (0 once it passed:
    the order is no longer offered for payment, even before the cancel task runs).

    The same rule as ``services.cancel_unpaid_orders``: the unpaid timeout after the
    order was placed. One query (the timeout), and only when an order is unpaid.
    """
    orders = list(orders)
    unpaid = any(order.status == S.PENDING_PAYMENT for order in orders)
    timeout = ShippingSettings.get_solo().unpaid_timeout if unpaid else None
    now = timezone.now()
    for order in orders:
        deadline = order.unpaid_deadline(timeout) if order.status == S.PENDING_PAYMENT else None
        order.payment_deadline = deadline
        # counted down by static/js/countdown.js from the server's clock, not the phone's
        left = (deadline - now).total_seconds() if deadline else 0
        order.payment_seconds_left = max(0, int(left))


@dataclass
class RefundableLine:
    line: OrderLine
    left: int  # not refunded yet


@dataclass
class OrderPage:
    order: Order
    shipment: object | None
    tracking: list[TrackingEvent]
    payment: object | None
    after_sales: list[AfterSaleRequest]
    open_request: AfterSaleRequest | None
    refundable: list[RefundableLine] = field(default_factory=list)


def order_page(user, number: str) -> OrderPage:
    """Everything the shopper's order page shows; Order.DoesNotExist for another's order.

    A fixed number of queries whatever the lines, events or requests.
    """
    from payments.models import Payment

    order = (
        Order.objects.select_related("shipment")
        .prefetch_related(
            Prefetch("lines", queryset=lines_with_covers()),
            "events",
            Prefetch(
                "after_sales",
                queryset=AfterSaleRequest.objects.prefetch_related("lines__order_line"),
            ),
            Prefetch(
                "payments",
                queryset=Payment.objects.filter(
                    status__in=(Payment.Status.SUCCEEDED, Payment.Status.REFUNDED)
                ).order_by("pk"),
            ),
        )
        .get(number=number, user=user)
    )
    try:
        shipment = order.shipment
    except Order.shipment.RelatedObjectDoesNotExist:
        shipment = None
    tracking = list(shipment.events.order_by("-time", "-pk")) if shipment else []
    after_sales = list(order.after_sales.all())
    left = {line.pk: line.quantity for line in order.lines.all()}
    for request in after_sales:
        if request.status == AfterSaleRequest.Status.REFUNDED:
            for line in request.lines.all():
                left[line.order_line_id] -= line.quantity
    payments = list(order.payments.all())
    set_payment_deadlines([order])
    return OrderPage(
        order=order,
        shipment=shipment,
        tracking=tracking,
        payment=payments[0] if payments else None,
        after_sales=after_sales,
        open_request=next((r for r in after_sales if r.is_open), None),
        refundable=[
            RefundableLine(line, left[line.pk])
            for line in order.lines.all()
            if left[line.pk] and not line.is_gift  # a gift goes back with the whole order
        ],
    )
