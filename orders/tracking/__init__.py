"""Tracking sources, picked by the carrier code a parcel was shipped with.

The sandbox carrier (demo sites) is tracked by the sandbox adapter. The real
carriers (tracking.carriers) are tracked by the aggregator TRACKING_ADAPTER
names: "kuaidi100", or "sandbox" (the default), which tracks only the sandbox
carrier, so a real parcel is never shown a made-up journey; its steps are
typed by staff on the shipment.
"""

from django.conf import settings

from . import carriers
from .base import CarrierAdapter, TrackingError, TrackingUpdate
from .kuaidi100 import Kuaidi100Adapter
from .sandbox import SandboxCarrier

# TRACKING_ADAPTER values -> the adapter that tracks the real carriers.
AGGREGATORS: dict[str, type[CarrierAdapter] | None] = {
    "sandbox": None,
    "kuaidi100": Kuaidi100Adapter,
}


def get_adapter(carrier: str) -> CarrierAdapter | None:
    """The adapter that tracks `carrier`'s parcels; None: tracking is typed by staff."""
    if carrier in settings.TRACKING_SANDBOX_CARRIERS:
        return SandboxCarrier()
    aggregator = AGGREGATORS.get(settings.TRACKING_ADAPTER)
    if aggregator is not None and any(c.code == carrier for c in carriers.CARRIERS):
        return aggregator()
    return None


__all__ = ["CarrierAdapter", "TrackingError", "TrackingUpdate", "carriers", "get_adapter"]
