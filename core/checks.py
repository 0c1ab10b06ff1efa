from django.conf import settings
from django.core.checks import Tags, Warning, register

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
