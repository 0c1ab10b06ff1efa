"""`manage.py check` refuses a gateway that is offered but not configured,
and the sandbox gateway outside a demo site (DEMO_SITE).

A shop that lists alipay or wechat in PAYMENT_GATEWAYS without its keys would
show shoppers a way to pay that fails at the last step; better to fail at
start-up with the name of the missing setting.
"""

from django.conf import settings
from django.core.checks import Error, register

from .gateways.base import read_key


def _missing(names: list[str]) -> list[str]:
    return [name for name in names if not getattr(settings, name)]


def _unreadable(names: list[str]) -> list[str]:
    bad = []
    for name in names:
        try:
            read_key(getattr(settings, name))
        except OSError:
            bad.append(name)
    return bad


@register("payments", deploy=True)
def check_sandbox_only_on_a_demo_site(app_configs, **kwargs):
    """`check --deploy` fails when the sandbox (which pays orders with nothing) is listed
    outside a demo site; at run time the gateway refuses to load there anyway
    (payments.gateways.is_offered), so a site that skips the check takes no free order."""
    if "sandbox" in settings.PAYMENT_GATEWAYS and not settings.DEMO_SITE:
        return [
            Error(
                "The sandbox gateway is offered but this is not a demo site: any shopper "
                "could pay an order with nothing.",
                hint="Drop sandbox from PAYMENT_GATEWAYS (e.g. PAYMENT_GATEWAYS=alipay), "
                "or set DEMO_SITE=true on a demo site that takes no real orders.",
                id="payments.E006",
            )
        ]
    return []


@register("payments")
def check_gateway_settings(app_configs, **kwargs):
    errors = []
    if "alipay" in settings.PAYMENT_GATEWAYS:
        certificates = ["ALIPAY_APP_CERT", "ALIPAY_PUBLIC_CERT", "ALIPAY_ROOT_CERT"]
        needed = ["ALIPAY_APP_ID", "ALIPAY_APP_PRIVATE_KEY"]
        if not any(getattr(settings, name) for name in certificates):
            needed.append("ALIPAY_PUBLIC_KEY")
        else:
            needed += certificates
        errors += [
            Error(
                f"Alipay is offered but {name} is not set.",
                hint="See README, 'Taking real money'; or drop alipay from PAYMENT_GATEWAYS.",
                id="payments.E001",
            )
            for name in _missing(needed)
        ]
        errors += [
            Error(f"{name} names a file that cannot be read.", id="payments.E002")
            for name in _unreadable(needed[1:])
        ]
    if "wechat" in settings.PAYMENT_GATEWAYS:
        needed = [
            "WECHATPAY_MCHID",
            "WECHATPAY_APPID",
            "WECHATPAY_APIV3_KEY",
            "WECHATPAY_PRIVATE_KEY",
            "WECHATPAY_CERT_SERIAL_NO",
        ]
        if settings.WECHATPAY_PUBLIC_KEY or settings.WECHATPAY_PUBLIC_KEY_ID:
            needed += ["WECHATPAY_PUBLIC_KEY", "WECHATPAY_PUBLIC_KEY_ID"]
        errors += [
            Error(
                f"WeChat Pay is offered but {name} is not set.",
                hint="See README, 'Taking real money'; or drop wechat from PAYMENT_GATEWAYS.",
                id="payments.E003",
            )
            for name in _missing(needed)
        ]
        if settings.WECHATPAY_APIV3_KEY and len(settings.WECHATPAY_APIV3_KEY) != 32:
            errors.append(
                Error(
                    "WECHATPAY_APIV3_KEY must be the 32 characters set in the merchant platform.",
                    id="payments.E004",
                )
            )
        errors += [
            Error(f"{name} names a file that cannot be read.", id="payments.E002")
            for name in _unreadable(["WECHATPAY_PRIVATE_KEY", "WECHATPAY_PUBLIC_KEY"])
        ]
        oauth_appid = settings.WECHAT_OAUTH_APPID
        if settings.WECHAT_OAUTH_SECRET and oauth_appid and oauth_appid != settings.WECHATPAY_APPID:
            errors.append(
                Error(
                    "WECHAT_OAUTH_APPID differs from WECHATPAY_APPID: an openid belongs to "
                    "one AppID, so JSAPI payments and WeChat payouts would all fail.",
                    hint="Sign shoppers in with the official account bound to the merchant id.",
                    id="payments.E005",
                )
            )
    return errors
