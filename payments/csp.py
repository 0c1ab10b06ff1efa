"""The Content Security Policy's form-action, extended to the gateways we send shoppers to.

A browser applies form-action to every redirect that follows a form post: "Pay"
posts to our cashier, which redirects to Alipay's page (or WeChat's H5 cashier,
or WeChat's sign-in). Those origins come from the gateways' configured URLs,
read per request, so a gateway pointed elsewhere (its sandbox, a test fake)
stays payable.
"""

from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings

from .gateways import is_offered

# WeChat Pay's H5 cashier (h5_url) is on this host, not on the API's.
WECHAT_H5_ORIGIN = "https://wx.tenpay.com"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def gateway_form_origins() -> list[str]:
    """The origins our pages send a shopper to after a form post, for each offered gateway."""
    urls = []
    if is_offered("alipay"):
        urls.append(settings.ALIPAY_GATEWAY_URL)
    if is_offered("wechat"):
        urls += [settings.WECHATPAY_BASE_URL, WECHAT_H5_ORIGIN, settings.WECHAT_OPEN_BASE_URL]
    return sorted({origin for origin in map(_origin, urls) if origin})


class GatewayCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with the gateways' origins added to form-action."""

    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        origins = gateway_form_origins()
        if origins and not report_only:
            update = dict(parts.update or {})
            update["form-action"] = [*update.get("form-action", []), *origins]
            parts.update = update
        return parts
