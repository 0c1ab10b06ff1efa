"""`manage.py check` refuses a tracking aggregator that is named but not configured."""

from django.conf import settings
from django.core.checks import Error, register

KUAIDI100_SETTINGS = ("KUAIDI100_CUSTOMER", "KUAIDI100_KEY", "KUAIDI100_SALT")


@register("orders")
def check_tracking_adapter(app_configs, **kwargs):
    from .tracking import AGGREGATORS

    if settings.TRACKING_ADAPTER not in AGGREGATORS:
        return [
            Error(
                f"TRACKING_ADAPTER={settings.TRACKING_ADAPTER!r} is not a tracking adapter.",
                hint="Use one of: " + ", ".join(AGGREGATORS) + ".",
                id="orders.E001",
            )
        ]
    return []


@register("orders", deploy=True)
def check_kuaidi100_keys(app_configs, **kwargs):
    """Without the keys every query fails; without the salt no push can be verified
    (all are refused), so parcels would show nothing."""
    if settings.TRACKING_ADAPTER != "kuaidi100":
        return []
    return [
        Error(
            f"TRACKING_ADAPTER is kuaidi100 but {name} is not set.",
            hint="See README, settings: the keys are on Kuaidi100's enterprise page; "
            "KUAIDI100_SALT is a random string of your own.",
            id="orders.E002",
        )
        for name in KUAIDI100_SETTINGS
        if not getattr(settings, name)
    ]
