from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order


@pytest.fixture
def make_order(db):
    """make_order(user, "100.00", paid_days_ago=3, refunded="30.00", status=...): an order
    row as the services leave it (paid_at stamped when paid), without going through
    checkout: the figures only read totals, refunds and times."""
    counter = {"n": 0}

    def make(user, total, *, paid_days_ago=None, refunded="0.00", status=None, now=None):
        counter["n"] += 1
        now = now or timezone.now()
        paid_at = None if paid_days_ago is None else now - timedelta(days=paid_days_ago)
        if status is None:
            status = Order.Status.PENDING_PAYMENT if paid_at is None else Order.Status.PAID
        total = Decimal(total)
        order = Order.objects.create(
            number=f"T{counter['n']:08d}",
            user=user,
            status=status,
            subtotal=total,
            shipping_fee=Decimal("0.00"),
            total=total,
            refunded_total=Decimal(refunded),
            recipient_name="张三",
            recipient_phone="13800138000",
            shipping_address="上海市浦东新区世纪大道 100 号",
            paid_at=paid_at,
        )
        if paid_at is not None:
            # created_at is auto_now_add: placed a few minutes before it was paid
            Order.objects.filter(pk=order.pk).update(created_at=paid_at - timedelta(minutes=5))
        return order

    return make


@pytest.fixture
def make_coupon(db):
    """A 满100减20 coupon valid from yesterday for a week, with `changes` on top."""
    from marketing.models import Coupon

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
def staff(make_user):
    """A staff member with the given permissions: staff("view_customerprofile", ...)."""
    from django.contrib.auth.models import Permission

    def make(*codenames, username="clerk"):
        user = make_user(username, is_staff=True)
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        return user

    return make


@pytest.fixture(autouse=True)
def _english(settings):
    """Labels and messages are asserted in English (the lead translates them)."""
    settings.LANGUAGE_CODE = "en"
