"""What the orders app needs of a tracking source (快递公司 or 快递100): the steps of a parcel."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class TrackingUpdate:
    """One step a carrier reports, in our terms; `delivered` marks the signature (签收)."""

    time: datetime
    description: str
    place: str = ""
    delivered: bool = False


class TrackingError(Exception):
    """The tracking service failed or refused (network, keys, quota); try again later."""


class CarrierAdapter(ABC):
    """A tracking API behind one interface; `get_adapter` picks it by carrier code."""

    code: str
    # Pushes news to our callback once subscribed (then polling is only a safety net).
    supports_push = False
    # The periodic poll asks about a parcel at most this often (a paid query API is
    # not to be asked every 15 minutes about every parcel).
    min_poll_interval = timedelta(0)

    @abstractmethod
    def fetch_events(self, shipment) -> list[TrackingUpdate]:
        """Every step of `shipment` known so far (repeats are fine). Raises TrackingError."""

    def subscribe(self, shipment) -> None:
        """Ask to be pushed the news of `shipment` (only when `supports_push`)."""
        raise NotImplementedError
