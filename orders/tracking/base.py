"""What the orders app needs of a carrier (快递公司): the steps of a parcel so far."""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TrackingUpdate:
    """One step a carrier reports, in our terms; `delivered` marks the signature (签收)."""

    time: datetime
    description: str
    place: str = ""
    delivered: bool = False


class CarrierAdapter(ABC):
    """A carrier's tracking API behind one interface, registered by carrier code."""

    code: str

    @abstractmethod
    def fetch_events(self, shipment) -> list[TrackingUpdate]:
        """Every step of `shipment` known so far, oldest first (repeats are fine)."""
