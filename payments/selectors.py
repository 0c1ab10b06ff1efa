"""Reads of the payments app: which ways to pay the cashier offers."""

from dataclasses import dataclass

from django.http import HttpRequest

from .gateways import base as channels
from .gateways import offered_gateways
from .models import Payment


@dataclass(frozen=True)
class PaymentOption:
    gateway: str
    channel: str
    label: str
    is_default: bool  # the way that suits this device, listed first with the big button


def in_wechat(request: HttpRequest) -> bool:
    """Inside WeChat's own browser, which opens no Alipay page and pays by JSAPI."""
    return "micromessenger" in request.headers.get("User-Agent", "").lower()


def payment_options(request: HttpRequest) -> list[PaymentOption]:
    """The ways to pay, best first: each gateway's way for this device, then the others.

    Inside WeChat only WeChat Pay's JSAPI is offered (WeChat blocks Alipay's
    pages); outside it JSAPI is not (it needs WeChat's bridge).
    """
    wechat = in_wechat(request)
    best, others = [], []
    for gateway in offered_gateways():
        preferred = gateway.channel_for(request)
        for channel in gateway.channels:
            if (channel == channels.WECHAT_JSAPI) != wechat and gateway.code == "wechat":
                continue
            if wechat and gateway.code == "alipay":
                continue
            if channel == channels.WECHAT_H5 and preferred != channels.WECHAT_H5:
                continue  # WeChat Pay refuses H5 outside a phone's browser
            option = PaymentOption(
                gateway=gateway.code,
                channel=channel,
                label=str(Payment.Channel(channel).label),
                is_default=channel == preferred,
            )
            (best if option.is_default else others).append(option)
    return best + others
