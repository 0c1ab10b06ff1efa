"""What the shopper's browser is, from its user agent: the cashier offers ways to pay by it."""

import re

from django.conf import settings
from django.http import HttpRequest

PHONE = re.compile(r"iPhone|iPod|iPad|Android|Mobile|Windows Phone|HarmonyOS", re.IGNORECASE)


def in_wechat(request: HttpRequest) -> bool:
    """WeChat's own browser: it opens no Alipay page, pays by JSAPI, signs in by OAuth."""
    return "micromessenger" in request.headers.get("User-Agent", "").lower()


def client_ip(request: HttpRequest) -> str:
    """The shopper's IP address. Behind the reverse proxy (TRUSTED_PROXY_COUNT > 0), the
    address the first proxy saw, from X-Forwarded-For; never one the client wrote."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [ip.strip() for ip in request.headers.get("X-Forwarded-For", "").split(",")]
    if proxies and len(forwarded) >= proxies and forwarded[-proxies]:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def is_phone(request: HttpRequest) -> bool:
    return bool(PHONE.search(request.headers.get("User-Agent", "")))
