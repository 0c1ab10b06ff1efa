"""What the shopper hears about their order, through the one notifications service.

Each function tells the order's shopper of one event, in the transaction of the
change: a site message, and the order email (templates/emails/order_<x>*) or
an SMS as their settings say, sent after the commit. The key names the event,
so telling twice (a retried task, the carrier and the shopper both marking
the order delivered) tells once. Written in the language the shopper ordered
in, unless they chose one in their settings.
"""

from django.conf import settings

from notifications.models import Kind
from notifications.services import in_shop_language, notify, sms_outcome


def _tell(order, kind: str, event: str, *, context=None, data=None, sms_params=None):
    return notify(
        order.user,
        kind,
        key=f"order:{order.pk}:{event}",
        context={"order": order, **(context or {})},
        link=order.get_absolute_url(),
        data={"order": order.pk, **(data or {})},
        sms_params=sms_params,
        language=order.language,
    )


def placed(order):
    return _tell(order, Kind.ORDER_PLACED, "placed")


def paid(order):
    return _tell(order, Kind.ORDER_PAID, "paid")


def shipped(order):
    carrier = in_shop_language(lambda: order.carrier_name)
    return _tell(
        order,
        Kind.ORDER_SHIPPED,
        "shipped",
        sms_params={
            "number": order.number,
            "carrier": carrier,
            "tracking": order.tracking_number,
        },
    )


def delivered(order):
    """The carrier delivered it or the shopper confirmed receipt: whichever comes first."""
    return _tell(
        order,
        Kind.ORDER_DELIVERED,
        "delivered",
        context={"after_sale_days": settings.AFTER_SALE_DAYS},
    )


def refund_decided(order, *, after_sale=None, amount=None):
    """An after-sale request approved or rejected, or (no `after_sale`) the merchant's
    refund of everything left, of `amount`."""
    if after_sale is not None:
        approved = after_sale.status != after_sale.Status.REJECTED
        amount = after_sale.amount
        key, data = f"after_sale:{after_sale.pk}:decided", {"after_sale": after_sale.pk}
    else:
        approved = True
        key, data = f"order:{order.pk}:refunded", {"amount": str(amount)}
    return notify(
        order.user,
        Kind.REFUND_DECIDED,
        key=key,
        context={"order": order, "after_sale": after_sale, "approved": approved, "amount": amount},
        link=order.get_absolute_url(),
        data={"order": order.pk, **data},
        sms_params={
            "number": order.number,
            "result": sms_outcome(approved),
            "amount": str(amount) if approved else "",
        },
        language=order.language,
    )


# Events the emails scheduled before notifications (orders.tasks.send_order_email) name.
LEGACY_EMAILS = {"placed": placed, "paid": paid, "shipped": shipped}
