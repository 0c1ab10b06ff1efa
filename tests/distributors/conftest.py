from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def network_settings(db):
    """The singleton, to change per test: network_settings(binding_rule=..., auto_approve=...)."""
    from distributors.models import NetworkSettings

    def configure(**fields):
        obj = NetworkSettings.get_solo()
        for name, value in fields.items():
            setattr(obj, name, value)
        obj.save()
        return obj

    return configure


@pytest.fixture
def clock():
    """A clock the test moves: clock.now, clock.advance(days=31)."""

    class Clock:
        now = T0

        def advance(self, **delta):
            self.now += timedelta(**delta)
            return self.now

    return Clock()


@pytest.fixture
def grades(db):
    """Ordinary (0), Silver (1), Gold (2) with small round thresholds.

    The data migration made them; a transactional test's flush removes them, so
    they are (re)made here with thresholds the tests can reach.
    """
    from distributors.models import Grade

    rows = [
        (0, "普通", "Ordinary", "0", "0", 0),
        (1, "银牌", "Silver", "500", "1000", 1),
        (2, "金牌", "Gold", "2000", "5000", 2),
    ]
    made = []
    for rank, name, name_en, personal, team, recruits in rows:
        grade, _ = Grade.objects.update_or_create(
            rank=rank,
            defaults={
                "name": name,
                "name_en": name_en,
                "min_personal_sales": Decimal(personal),
                "min_team_sales": Decimal(team),
                "min_direct_recruits": recruits,
            },
        )
        made.append(grade)
    return made


@pytest.fixture
def sell(make_user, make_variant, address):
    """sell(distributor, amount, status="paid"): an order of `amount` in goods credited to them."""
    from orders.models import Order
    from orders.services import place_order

    counter = {"n": 0}

    def make(distributor, amount, status=Order.Status.PAID):
        counter["n"] += 1
        buyer = make_user(f"buyer{counter['n']}")
        variant = make_variant(price=amount, stock=1)
        order = place_order(
            buyer, [(variant.pk, 1)], address=address, referral_code=distributor.invite_code
        )
        Order.objects.filter(pk=order.pk).update(status=status)
        return order

    return make


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Team tests make dozens of users; PBKDF2 would dominate their time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
