"""Payment gateways behind one interface; `get_gateway(code)` picks one.

A gateway is offered only when PAYMENT_GATEWAYS names it; its module is
imported on first use, so a shop without WeChat Pay never loads its SDK.

The sandbox pays an order with nothing: it is offered only on a demo site
(DEMO_SITE, default DEBUG). Listed in production, it is refused here (and
payments.E006 stops `manage.py check`, so the site does not start).
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


def is_offered(code: str) -> bool:
    """Whether this shop takes payments through `code` (never the sandbox outside a demo)."""
    if code not in settings.PAYMENT_GATEWAYS or code not in GATEWAY_CLASSES:
        return False
    return code != "sandbox" or settings.DEMO_SITE


def get_gateway(code: str) -> Gateway:
    """The gateway `code`, if this shop offers it; LookupError otherwise."""
    if not is_offered(code):
        raise LookupError(code)
    return import_string(GATEWAY_CLASSES[code])()


def offered_gateways() -> list[Gateway]:
    return [get_gateway(code) for code in settings.PAYMENT_GATEWAYS if is_offered(code)]


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
    "is_offered",
    "offered_gateways",
]
