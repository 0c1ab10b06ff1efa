from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

DEFAULT_SANDBOX_SECRET = "sandbox-secret-change-me"  # noqa: S105 - the value we warn about


@register(Tags.security, deploy=True)
def check_payment_secrets(app_configs, **kwargs):
    """`check --deploy` flags a sandbox gateway still signing with the demo key."""
    if "sandbox" in settings.PAYMENT_GATEWAYS and (
        settings.SANDBOX_GATEWAY_SECRET == DEFAULT_SANDBOX_SECRET
    ):
        return [
            Warning(
                "SANDBOX_GATEWAY_SECRET is the demo key: anyone can forge payments.",
                hint="Set SANDBOX_GATEWAY_SECRET, or drop 'sandbox' from PAYMENT_GATEWAYS.",
                id="mall.W001",
            )
        ]
    return []


DEFAULT_SITE_URL = "http://localhost:8000"


@register(Tags.security, deploy=True)
def check_public_urls(app_configs, **kwargs):
    """With DEBUG off, links in emails and the gateways' notify and return URLs are
    built from SITE_URL (and PAYMENT_NOTIFY_BASE_URL), never from a request's Host
    header, which a client writes: both must name the real site."""
    if settings.DEBUG:
        return []
    errors = []
    for name in ("SITE_URL", "PAYMENT_NOTIFY_BASE_URL"):
        value = getattr(settings, name).rstrip("/")
        if name == "PAYMENT_NOTIFY_BASE_URL" and not value:
            continue  # defaults to SITE_URL, checked above
        if not value or value == DEFAULT_SITE_URL or "://" not in value:
            errors.append(
                Error(
                    f"{name} is not set to the site's public address while DEBUG is off.",
                    hint=f"Set {name}, e.g. https://shop.example.com.",
                    id="mall.E001",
                )
            )
    return errors
