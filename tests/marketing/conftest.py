from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from marketing.models import Coupon


@pytest.fixture
def make_coupon(db):
    """A 满100减20 coupon valid from yesterday for a week, with `changes` on top."""

    def make(**changes):
        now = timezone.now()
        fields = {
            "name": "满100减20",
            "kind": Coupon.Kind.AMOUNT_OFF,
            "amount": Decimal("20.00"),
            "threshold": Decimal("100.00"),
            "valid_from": now - timedelta(days=1),
            "valid_until": now + timedelta(days=7),
            "total_quantity": 100,
        }
        return Coupon.objects.create(**{**fields, **changes})

    return make


@pytest.fixture
def coupon(make_coupon):
    return make_coupon()
