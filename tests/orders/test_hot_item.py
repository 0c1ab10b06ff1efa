"""A hot item (秒杀): many buyers of one variant. Exactly the stock is sold, late buyers
are told it is sold out without queueing on its row lock, no buyer waits on that lock
longer than CHECKOUT_LOCK_TIMEOUT_MS, and a request that gets no pooled connection in
time sees the "busy, try again" page, not an error page."""

import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.db import connection, transaction
from django.db.models import Sum
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.models import StockMovement, Variant
from core import busy
from marketing import coupons
from marketing.models import Coupon, CouponClaim
from orders.models import Order
from orders.services import CheckoutBusy, OutOfStock, place_order
from tests.accounts.helpers import saved_address
from tests.test_concurrency import run_at_once

HOLD_LIMIT = 30  # seconds a lock holder waits to be released, at most


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@contextmanager
def row_lock_held(variant: Variant):
    """Another connection holds `variant`'s row lock (as a slow checkout would)
    until the block ends."""
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Variant.objects.select_for_update().get(pk=variant.pk)
                locked.set()
                release.wait(HOLD_LIMIT)
        finally:
            connection.close()

    holder = threading.Thread(target=hold, name="lock-holder")
    holder.start()
    try:
        assert locked.wait(10), "the holder never got the row lock"
        yield
    finally:
        release.set()
        holder.join(HOLD_LIMIT)


def lock_timeout_now() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        return cursor.fetchone()[0]


def stock_of(variant: Variant) -> int:
    return Variant.objects.get(pk=variant.pk).stock


# --- sold out at once -------------------------------------------------------------------


@pytest.mark.parametrize("stock", [0, 1])
def test_a_sold_out_variant_is_refused_before_any_row_lock(make_user, make_variant, address, stock):
    # given: fewer left than the buyer asks for
    variant = make_variant(stock=stock)
    buyer = make_user("late")

    # when
    with CaptureQueriesContext(connection) as queries, pytest.raises(OutOfStock):
        place_order(buyer, [(variant.pk, 2)], address=address)

    # then: one plain read of the variant, and nothing locked or bounded
    statements = [query["sql"] for query in queries.captured_queries]
    assert not [sql for sql in statements if "FOR UPDATE" in sql]
    assert not [sql for sql in statements if "lock_timeout" in sql]
    assert len([sql for sql in statements if 'FROM "catalog_variant"' in sql]) == 1
    assert stock_of(variant) == stock
    assert not Order.objects.exists()


# --- many buyers, few units -------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_thirty_buyers_of_ten_units_make_ten_orders_and_twenty_are_told_sold_out(
    settings, make_user, make_variant, address
):
    # given: a bound no queue of 30 on this machine reaches, so every loser is "sold out"
    settings.CHECKOUT_LOCK_TIMEOUT_MS = 30_000
    variant = make_variant(stock=10)
    buyers = [make_user(f"buyer{n}") for n in range(30)]

    # when
    results = run_at_once(
        lambda user: place_order(user, [(variant.pk, 1)], address=address), buyers
    )

    # then
    unexpected = [r for r in results if not isinstance(r, Order | OutOfStock)]
    assert not unexpected, unexpected
    assert sum(isinstance(r, Order) for r in results) == 10
    assert sum(isinstance(r, OutOfStock) for r in results) == 20
    assert Order.objects.count() == 10
    assert stock_of(variant) == 0
    movements = StockMovement.objects.filter(variant=variant)
    sold = movements.filter(kind=StockMovement.Kind.SOLD).aggregate(total=Sum("quantity"))
    assert sold["total"] == -10
    assert movements.aggregate(total=Sum("quantity"))["total"] == 0  # +10 received, -10 sold


# --- a bounded wait on the row lock -----------------------------------------------------


@pytest.fixture
def coupon_claim(db):
    def claim(user):
        now = timezone.now()
        coupon = Coupon.objects.create(
            name="满50减5",
            kind=Coupon.Kind.AMOUNT_OFF,
            amount=Decimal("5.00"),
            threshold=Decimal("50.00"),
            valid_from=now - timedelta(days=1),
            valid_until=now + timedelta(days=1),
        )
        return coupons.claim(user, coupon)

    return claim


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_checkout_behind_a_held_row_lock_gives_up_after_the_bound_and_changes_nothing(
    settings, shopper, make_variant, address, coupon_claim
):
    # given: another checkout holds the variant's row lock longer than the bound
    settings.CHECKOUT_LOCK_TIMEOUT_MS = 300
    variant = make_variant(price="100.00", stock=5)
    claim = coupon_claim(shopper)

    # when
    with row_lock_held(variant):
        started = time.monotonic()
        with pytest.raises(CheckoutBusy) as refused:
            place_order(shopper, [(variant.pk, 1)], address=address, coupon=claim.pk)
        waited = time.monotonic() - started

    # then: told to try again within the bound, and nothing was taken
    assert 0.3 <= waited < 0.3 + 1.5
    assert "try again in a moment" in str(refused.value)
    assert not Order.objects.exists()
    assert stock_of(variant) == 5
    assert CouponClaim.objects.get(pk=claim.pk).used_at is None
    # and the bound went with the checkout's transaction
    assert lock_timeout_now() == "0"


@pytest.mark.postgres
def test_the_bound_on_the_lock_wait_does_not_outlast_the_lock(make_user, make_variant, address):
    # given: a connection with its own lock_timeout, and a transaction that goes on
    # after the checkout (the test's, like check_out's around place_order)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '7s'")
    variant = make_variant(stock=5)

    # when
    with CaptureQueriesContext(connection) as queries:
        place_order(make_user("buyer"), [(variant.pk, 1)], address=address)

    # then: the locking read ran under the bound, and the next statement waits as before
    statements = [query["sql"] for query in queries.captured_queries]
    locking = next(n for n, sql in enumerate(statements) if "FOR UPDATE" in sql)
    assert "set_config('lock_timeout'" in statements[locking - 1]
    assert "set_config('lock_timeout'" in statements[locking + 1]
    assert lock_timeout_now() == "7s"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_checkout_page_tells_the_shopper_to_try_again_while_the_item_is_locked(
    settings, client, shopper, make_variant
):
    # given: a shopper on the checkout page of a hot item
    settings.CHECKOUT_LOCK_TIMEOUT_MS = 200
    variant = make_variant(stock=5)
    address = saved_address(shopper)
    client.force_login(shopper)
    client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": 1})
    client.get(reverse("orders:checkout"))
    data = {"address": address.pk, "checkout_token": client.session["checkout_token"]}

    # when: they place the order while other checkouts hold its row
    with row_lock_held(variant):
        response = client.post(reverse("orders:checkout"), data)

    # then: a message on the cart, the order not placed; placing it again works
    assert response.status_code == 302
    assert response.url == reverse("orders:cart")
    shown = [str(message) for message in get_messages(response.wsgi_request)]
    assert str(CheckoutBusy()) in shown
    assert not Order.objects.exists()
    assert stock_of(variant) == 5
    client.get(reverse("orders:checkout"))
    data["checkout_token"] = client.session["checkout_token"]
    retried = client.post(reverse("orders:checkout"), data)
    assert retried.url == Order.objects.get().get_absolute_url()


# --- no pooled connection in time -------------------------------------------------------


@contextmanager
def pool_of_one(timeout: float):
    """The default alias's pool shrunk to one connection, waited for `timeout` seconds."""
    options = connection.settings_dict["OPTIONS"]
    saved = options.get("pool")
    assert saved, "the test needs psycopg's pool (DATABASE_POOL=true, the default)"
    connection.close()
    connection.close_pool()
    options["pool"] = {"min_size": 1, "max_size": 1, "timeout": timeout}
    try:
        yield
    finally:
        connection.close()
        connection.close_pool()
        options["pool"] = saved


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_request_that_gets_no_pooled_connection_in_time_sees_the_busy_page():
    taken, release = threading.Event(), threading.Event()

    def take_the_only_connection():
        try:
            connection.ensure_connection()
            taken.set()
            release.wait(HOLD_LIMIT)
        finally:
            connection.close()

    with pool_of_one(timeout=0.3):
        holder = threading.Thread(target=take_the_only_connection, name="pool-holder")
        holder.start()
        try:
            assert taken.wait(10)
            started = time.monotonic()
            response = Client(raise_request_exception=False).get(reverse("orders:cart"))
            waited = time.monotonic() - started
        finally:
            release.set()
            holder.join(HOLD_LIMIT)

    assert response.status_code == 503
    assert response["Retry-After"] == str(busy.RETRY_AFTER_SECONDS)
    assert "Please try again in a few seconds" in response.content.decode()
    assert waited < 0.3 + 2


def test_any_other_error_still_gets_the_server_error_page():
    request = RequestFactory().get("/")
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = busy.server_error(request)

    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
