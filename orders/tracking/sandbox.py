"""The sandbox carrier: a believable journey, computed from the shipping time.

Deterministic (the same parcel gives the same steps at the same moment, so
polling again stores nothing twice) and moving with the clock: picked up at
shipping, in transit, out for delivery, signed for about a day and a half
later. The cities come from the tracking number.
"""

import hashlib
from datetime import timedelta

from django.utils import timezone

from .base import CarrierAdapter, TrackingUpdate

CITIES = ["上海", "北京", "广州", "深圳", "杭州", "成都", "武汉", "南京", "西安", "重庆"]

# (hours after shipping, description with {origin}/{destination}, where, delivered)
JOURNEY = [
    (0, "快件已揽收", "origin", False),
    (4, "运输中：快件已从{origin}转运中心发出", "origin", False),
    (18, "运输中：快件已到达{destination}转运中心", "destination", False),
    (28, "派送中：快递员正在为您派件", "destination", False),
    (34, "已签收：快件已签收，感谢使用", "destination", True),
]


def cities_for(tracking_number: str) -> tuple[str, str]:
    digest = hashlib.sha256(tracking_number.encode()).digest()
    origin = CITIES[digest[0] % len(CITIES)]
    destination = CITIES[(digest[0] + 1 + digest[1] % (len(CITIES) - 1)) % len(CITIES)]
    return origin, destination


class SandboxCarrier(CarrierAdapter):
    code = "sandbox"

    def fetch_events(self, shipment) -> list[TrackingUpdate]:
        now = timezone.now()
        origin, destination = cities_for(shipment.tracking_number)
        places = {"origin": origin, "destination": destination}
        updates = []
        for hours, description, where, delivered in JOURNEY:
            time = shipment.shipped_at + timedelta(hours=hours)
            if time > now:
                break
            updates.append(
                TrackingUpdate(
                    time=time,
                    description=description.format(origin=origin, destination=destination),
                    place=places[where],
                    delivered=delivered,
                )
            )
        return updates
