"""Carrier adapters, picked by the carrier code a parcel was shipped with."""

from django.conf import settings

from .base import CarrierAdapter, TrackingUpdate
from .sandbox import SandboxCarrier

# Real carriers (SF, 中通, ...) register their adapter class here by code.
_ADAPTERS: dict[str, type[CarrierAdapter]] = {}


def get_adapter(carrier: str) -> CarrierAdapter | None:
    """The adapter that tracks `carrier`'s parcels; None: tracking is typed by staff."""
    if carrier in settings.TRACKING_SANDBOX_CARRIERS:
        return SandboxCarrier()
    adapter = _ADAPTERS.get(carrier)
    return adapter() if adapter else None


__all__ = ["CarrierAdapter", "TrackingUpdate", "get_adapter"]
