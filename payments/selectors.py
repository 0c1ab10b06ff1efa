"""Reads of the payments app: which ways to pay the cashier offers, whether one is settled."""

from dataclasses import dataclass

from django.http import HttpRequest

from orders.models import Order

from .gateways import offered_gateways
from .models import Payment


@dataclass(frozen=True)
class PaymentOption:
    gateway: str
    channel: str
    label: str
    is_default: bool  # the way that suits this device, listed first with the big button


def payment_options(request: HttpRequest) -> list[PaymentOption]:
    """The ways to pay on the shopper's device, best first: each gateway's way for the
    device, then its others (each gateway says which it offers where)."""
    best, others = [], []
    for gateway in offered_gateways():
        for index, channel in enumerate(gateway.channels_for(request)):
            option = PaymentOption(
                gateway=gateway.code,
                channel=channel,
                label=str(Payment.Channel(channel).label),
                is_default=index == 0,
            )
            (best if option.is_default else others).append(option)
    return best + others


def only_option(request: HttpRequest) -> PaymentOption | None:
    """The way to pay when the device leaves one ("Pay now" then needs no cashier)."""
    options = payment_options(request)
    return options[0] if len(options) == 1 else None


def is_settled(payment: Payment) -> bool:
    """Whether the shopper can stop waiting on `payment`: it is no longer awaiting the
    gateway's answer, and its order no longer awaits payment (paid, or cancelled)."""
    return (
        payment.status != Payment.Status.CREATED
        and payment.order.status != Order.Status.PENDING_PAYMENT
    )
