"""Ways to bring an order to a point of its life, the real way (through services)."""

from datetime import timedelta

from django.db.models import F

from orders import services
from orders.models import Order, Shipment, TrackingEvent
from payments import services as payment_services
from payments.gateways import sandbox
from payments.gateways.base import Notification


def pay(order: Order) -> Order:
    """Pay `order` through the sandbox gateway, as its verified notification would."""
    payment = payment_services.start_payment(order, gateway_code="sandbox")
    params = sandbox.build_notification(payment)
    payment_services.handle_notification(
        "sandbox",
        Notification(
            reference=payment.reference,
            trade_no=params["trade_no"],
            amount=payment.amount,
            succeeded=True,
            payload=params,
        ),
    )
    return Order.objects.get(pk=order.pk)


def ship(order: Order, staff, *, carrier="sandbox", tracking_number="SBX100", days_ago=0):
    """Ship `order`, as if `days_ago` days ago: the steps the carrier gave right
    after shipping (stored by then) move back with the shipping time."""
    order = services.ship_order(
        order, carrier=carrier, tracking_number=tracking_number, actor=staff
    )
    if days_ago:
        shift = timedelta(days=days_ago)
        then = order.shipped_at - shift
        Order.objects.filter(pk=order.pk).update(shipped_at=then)
        Shipment.objects.filter(order=order).update(shipped_at=then)
        TrackingEvent.objects.filter(shipment__order=order).update(time=F("time") - shift)
    return Order.objects.get(pk=order.pk)


def place_paid(shopper, variants_quantities, address) -> Order:
    order = services.place_order(
        shopper, [(v.pk, q) for v, q in variants_quantities], address=address
    )
    return pay(order)
