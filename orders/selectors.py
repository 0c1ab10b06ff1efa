"""Reads of the shopper's orders, each a fixed number of queries."""

import uuid
from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery

from .models import AfterSaleRequest, Order, OrderLine, TrackingEvent


def order_placed_with(user, token) -> Order | None:
    """The user's order made with checkout ``token`` (a UUID or its text), if any."""
    try:
        token = uuid.UUID(str(token))
    except ValueError:
        return None
    return Order.objects.filter(user=user, checkout_token=token).first()


def orders_of(user) -> QuerySet[Order]:
    """The shopper's orders, newest first, with their first line and line count (1 query)."""
    first_line = OrderLine.objects.filter(order=OuterRef("pk")).order_by("pk")
    return (
        Order.objects.filter(user=user)
        .annotate(
            line_count=Count("lines"),
            first_product=Subquery(first_line.values("product_name")[:1]),
            first_variant=Subquery(first_line.values("variant_name")[:1]),
            first_quantity=Subquery(first_line.values("quantity")[:1]),
        )
        .order_by("-created_at", "-pk")  # an aggregate drops Meta.ordering
    )


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
            "lines",
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
    return OrderPage(
        order=order,
        shipment=shipment,
        tracking=tracking,
        payment=payments[0] if payments else None,
        after_sales=after_sales,
        open_request=next((r for r in after_sales if r.is_open), None),
        refundable=[
            RefundableLine(line, left[line.pk]) for line in order.lines.all() if left[line.pk]
        ],
    )
