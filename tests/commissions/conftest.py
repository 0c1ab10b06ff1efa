import itertools
from decimal import Decimal

import pytest
from django.utils import translation

from commissions import services
from orders import services as order_services


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Every test here makes a few users; PBKDF2 would dominate their time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def earn(make_user, make_variant, address, django_user_model):
    """earn(carol, "100.00"): carol sells so she has that much more available, the real way.

    One order through her link (level 1, the default plan's 10%), paid,
    shipped, completed and released: the ledger stays consistent with its
    records. Her recruiter earns level 2 on it as well.
    """
    buyers = itertools.count(1)
    staff = django_user_model.objects.create_user("staff", is_staff=True)

    def earn(distributor, amount="100.00"):
        variant = make_variant(price=str(Decimal(amount) * 10), stock=1)
        buyer = make_user(f"buyer{next(buyers)}")
        order = order_services.place_order(
            buyer, [(variant.pk, 1)], address=address, referral_code=distributor.invite_code
        )
        order_services.mark_paid(order)
        services.accrue_commissions(order.pk)
        order_services.ship_order(order, carrier="SF", tracking_number="SF1", actor=staff)
        order_services.complete_order(order, actor=staff)
        services.release_order_commissions(order.pk)
        return order

    return earn


@pytest.fixture
def carol(chain, earn):
    """carol (recruited by bob, recruited by alice) with 100.00 available."""
    carol = chain[2]
    earn(carol, "100.00")
    return carol


@pytest.fixture
def reviewer(django_user_model):
    return django_user_model.objects.create_user("finance", is_staff=True, is_superuser=True)


@pytest.fixture
def english(settings):
    """Messages in English, in pages and in services called directly (the default is Chinese)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield
