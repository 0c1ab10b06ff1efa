"""Payment gateways behind one interface; `get_gateway(code)` picks one."""

from django.conf import settings

from .base import Gateway, InvalidNotification, Notification, RefundFailed
from .sandbox import SandboxGateway

_GATEWAYS: dict[str, type[Gateway]] = {SandboxGateway.code: SandboxGateway}


def get_gateway(code: str) -> Gateway:
    if code not in settings.PAYMENT_GATEWAYS or code not in _GATEWAYS:
        raise LookupError(code)
    return _GATEWAYS[code]()


__all__ = ["Gateway", "InvalidNotification", "Notification", "RefundFailed", "get_gateway"]
