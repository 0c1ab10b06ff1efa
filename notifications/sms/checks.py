"""`manage.py check` refuses an SMS backend that is named but cannot send."""

from django.conf import settings
from django.core.checks import Error, register


@register("notifications")
def check_sms_settings(app_configs, **kwargs):
    from . import BACKENDS, WINDOWS

    errors = []
    if settings.SMS_BACKEND not in BACKENDS and "." not in settings.SMS_BACKEND:
        errors.append(
            Error(
                f"SMS_BACKEND={settings.SMS_BACKEND!r} is not an SMS backend.",
                hint="Use one of: " + ", ".join(BACKENDS) + ", or a dotted path.",
                id="notifications.E001",
            )
        )
    unknown = sorted(set(settings.SMS_RATE_LIMITS) - set(WINDOWS))
    if unknown:
        errors.append(
            Error(
                f"SMS_RATE_LIMITS names unknown windows: {', '.join(unknown)}.",
                hint="Use minute, hour and day, e.g. SMS_RATE_LIMITS=minute=1,hour=5,day=10.",
                id="notifications.E002",
            )
        )
    return errors


@register("notifications", deploy=True)
def check_aliyun_sms_keys(app_configs, **kwargs):
    """Without them every SMS fails (FAILED: not configured)."""
    if settings.SMS_BACKEND != "aliyun":
        return []
    return [
        Error(
            f"SMS_BACKEND is aliyun but {name} is not set.",
            hint="The AccessKey of a RAM user allowed to send SMS (AliyunDysmsFullAccess), "
            "and the approved signature (签名).",
            id="notifications.E003",
        )
        for name in ("ALIYUN_SMS_ACCESS_KEY_ID", "ALIYUN_SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME")
        if not getattr(settings, name)
    ]
