"""Shared fixtures.

Tests marked `postgres` need real row locks and concurrent connections, and
tests marked `worker` a real Celery worker on Redis. Without those services
they are skipped locally, but `.ci/run` sets REQUIRE_SERVICES=1, which turns
such a skip into a failure: CI can never pass by skipping them.
"""

import os
from decimal import Decimal

import pytest
from django.conf import settings
from django.dispatch import receiver
from django.test.signals import setting_changed
from django.urls import clear_url_caches

from config.celery import app as celery_app

# The fake gateways (Alipay, WeChat Pay) as fixtures for every test that asks for one.
pytest_plugins = ["tests.payments.alipay_fixtures", "tests.payments.wechatpay_fixtures"]


@receiver(setting_changed)
def _urls_follow_language_code(*, setting, **kwargs):
    """Tests that switch LANGUAGE_CODE (to read English messages) also switch which
    language has no URL prefix; Django's resolver caches its reverse tables per
    language, so a table built before the switch would keep the old prefixes."""
    if setting == "LANGUAGE_CODE":
        clear_url_caches()


def pytest_runtest_setup(item):
    missing = []
    if item.get_closest_marker("postgres") and not settings.IS_POSTGRES:
        missing.append("PostgreSQL (set DATABASE_URL=postgres://...)")
    if item.get_closest_marker("worker") and not (
        settings.CELERY_BROKER_URL.startswith("redis") and settings.IS_POSTGRES
    ):
        missing.append("Redis and PostgreSQL (set CELERY_BROKER_URL and DATABASE_URL)")
    if (
        item.get_closest_marker("redis")
        and "redis" not in settings.CACHES["default"]["BACKEND"].lower()
    ):
        missing.append("Redis as the cache (set CACHE_URL=redis://...)")
    if missing:
        reason = "needs " + " and ".join(missing)
        if os.environ.get("REQUIRE_SERVICES"):
            pytest.fail(f"REQUIRE_SERVICES is set but this test {reason}")
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # The manifest storage needs collectstatic; tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _fresh_cache_and_fast_hasher(settings):
    from django.core.cache import cache

    cache.clear()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Query counts are asserted on pages: the same session backend everywhere
    # (with CACHE_URL set, production reads sessions from the cache first).
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _closed_site_url(settings):
    """The fake gateways post refund and payout notifications to SITE_URL: a closed
    loopback port, so a developer's `make run` on :8000 never receives test traffic."""
    settings.SITE_URL = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def _demo_site(settings):
    """Tests run with DEBUG off; most pay through the sandbox, which only a demo site
    offers. tests/security sets DEMO_SITE = False to see production refuse it."""
    settings.DEMO_SITE = True


@pytest.fixture(autouse=True)
def _eager_celery():
    """Unit tests run tasks in-process (on commit); tests/integration use a real worker."""
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = saved


@pytest.fixture
def make_user(django_user_model):
    def make(username="shopper", password="pw-123456-long", **extra):
        return django_user_model.objects.create_user(
            username=username, password=password, email=f"{username}@example.com", **extra
        )

    return make


@pytest.fixture
def shopper(make_user):
    return make_user("shopper")


@pytest.fixture
def category(db):
    from catalog.models import Category

    return Category.objects.create(name="白酒", name_en="Baijiu", slug="baijiu")


@pytest.fixture
def make_variant(category):
    from catalog import inventory
    from catalog.models import Product, Variant

    counter = {"n": 0}

    def make(price="100.00", stock=10, **extra):
        counter["n"] += 1
        n = counter["n"]
        product = Product.objects.create(
            category=category, name=f"酒{n}", name_en=f"Liquor {n}", slug=f"liquor-{n}"
        )
        variant = Variant.objects.create(
            product=product, name="500ml", sku=f"SKU-{n}", price=Decimal(price), **extra
        )
        if stock:  # opening stock arrives the way real stock does, as a movement
            inventory.receive(variant, stock, actor=None, reason="opening stock")
            variant.refresh_from_db(fields=["stock"])
        return variant

    return make


@pytest.fixture
def variant(make_variant):
    return make_variant()


@pytest.fixture
def default_plan(db):
    """The two-tier plan of migration 0002 (a transactional test's flush removes it)."""
    from commissions.models import CommissionPlan

    plan, _ = CommissionPlan.objects.get_or_create(
        is_active=True,
        defaults={
            "name": "Default two-tier plan",
            "levels": 2,
            "level_1_rate": Decimal("0.1000"),
            "level_2_rate": Decimal("0.0500"),
            "payout_cap": Decimal("0.3000"),
        },
    )
    return plan


@pytest.fixture(autouse=True)
def _fresh_plan_rules():
    """Frozen plans' rules are cached per process; a test database reuses ids."""
    from commissions.rules import forget_cached_rules

    forget_cached_rules()
    yield
    forget_cached_rules()


@pytest.fixture
def use_plan(default_plan):
    """use_plan(levels=3, ...): a new version of the active plan with these changes, active."""
    from commissions.services import activate_plan, new_version

    def use(**changes):
        from commissions.models import CommissionPlan

        draft = new_version(CommissionPlan.objects.get(is_active=True))
        for name, value in changes.items():
            setattr(draft, name, value)
        draft.save()
        return activate_plan(draft)

    return use


@pytest.fixture
def make_distributor(make_user, default_plan):
    """make_distributor("alice"), make_distributor("bob", parent=alice): a chain."""
    from distributors.network import join_network
    from distributors.tree import place_nodes

    def make(username, parent=None):
        """A settled member: joined, and placed in the nested set as the worker would."""
        member = join_network(
            make_user(username), invite_code=parent.invite_code if parent else None
        )
        place_nodes(member.tree_id)
        member.refresh_from_db()
        return member

    return make


@pytest.fixture
def chain(make_distributor):
    """Three levels: alice recruited bob, bob recruited carol."""
    alice = make_distributor("alice")
    bob = make_distributor("bob", parent=alice)
    carol = make_distributor("carol", parent=bob)
    return alice, bob, carol


@pytest.fixture
def address():
    from orders.services import ShippingAddress

    return ShippingAddress("张三", "13800138000", "上海市浦东新区世纪大道 100 号")
