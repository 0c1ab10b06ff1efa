"""Payment gateways behind one interface; `get_gateway(code)` picks one.

A gateway is offered only when PAYMENT_GATEWAYS names it; its module is
imported on first use, so a shop without WeChat Pay never loads its SDK.
"""

from django.conf import settings
from django.utils.module_loading import import_string

from .base import (
    Checkout,
    Gateway,
    GatewayError,
    InvalidNotification,
    Notification,
    RefundFailed,
    RefundResult,
    TradeStatus,
    TransferRequest,
    TransferResult,
)

GATEWAY_CLASSES = {
    "sandbox": "payments.gateways.sandbox.SandboxGateway",
    "alipay": "payments.gateways.alipay.AlipayGateway",
    "wechat": "payments.gateways.wechat.WechatPayGateway",
}


def get_gateway(code: str) -> Gateway:
    """The gateway `code`, if this shop offers it; LookupError otherwise."""
    if code not in settings.PAYMENT_GATEWAYS or code not in GATEWAY_CLASSES:
        raise LookupError(code)
    return import_string(GATEWAY_CLASSES[code])()


def offered_gateways() -> list[Gateway]:
    return [get_gateway(code) for code in settings.PAYMENT_GATEWAYS if code in GATEWAY_CLASSES]


__all__ = [
    "Checkout",
    "Gateway",
    "GatewayError",
    "InvalidNotification",
    "Notification",
    "RefundFailed",
    "RefundResult",
    "TradeStatus",
    "TransferRequest",
    "TransferResult",
    "get_gateway",
    "offered_gateways",
]
