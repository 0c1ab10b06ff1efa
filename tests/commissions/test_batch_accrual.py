"""Accrual in batches (commissions.accrual): every due order accrued exactly once,
whatever the repeats, races and refunds, each earner told once per batch, in a
number of queries that does not grow with the batch."""

import threading
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from commissions import accrual, services
from commissions.models import Accrual, AccrualDue, Commission, LedgerEntry
from commissions.tasks import accrue_due_task
from commissions.verification import verify_ledger
from distributors.selectors import referral_chain_ids
from notifications.models import Kind, NotificationSettings, SiteMessage
from orders import refunds
from orders import services as order_services
from orders.models import Order
from tests.orders.aftersale_helpers import pay


def sell(through, *, buyer, variant, address, quantity=1) -> Order:
    """An order through `through`'s link, paid: due for accrual (this test's
    transaction never commits, so no run was requested; each test runs the batch)."""
    order = order_services.place_order(
        buyer, [(variant.pk, quantity)], address=address, referral_code=through.invite_code
    )
    return order_services.mark_paid(order)


def paid_due_orders(count: int, *, through, buyer, plan) -> list[int]:
    """`count` orders of ¥100.00 through `through`'s link, paid and due, written in bulk
    as that many payments leave them (the plan has no product rules: no lines needed)."""
    chain = referral_chain_ids(through.pk, depth=services.CHAIN_REACH)
    orders = Order.objects.bulk_create(
        Order(
            user=buyer,
            status=Order.Status.PAID,
            subtotal=Decimal("100.00"),
            shipping_fee=Decimal("0.00"),
            total=Decimal("100.00"),
            recipient_name="张三",
            recipient_phone="13800138000",
            shipping_address="上海",
            distributor=through,
            referral_chain=chain,
            commission_plan=plan,
        )
        for _ in range(count)
    )
    AccrualDue.objects.bulk_create(AccrualDue(order=order) for order in orders)
    return [order.pk for order in orders]


def levels_by_order(order_ids) -> dict[int, list[tuple[int, Decimal]]]:
    found: dict[int, list[tuple[int, Decimal]]] = {}
    for order_id, level, amount in (
        Commission.objects.filter(order_id__in=order_ids)
        .order_by("order_id", "level")
        .values_list("order_id", "level", "amount")
    ):
        found.setdefault(order_id, []).append((level, amount))
    return found


TWO_LEVELS = [(1, Decimal("10.00")), (2, Decimal("5.00"))]  # the default plan on ¥100.00


# --- exactly once ------------------------------------------------------------------------


@pytest.mark.django_db
def test_due_orders_run_twice_or_redelivered_keep_the_same_commissions(
    chain, shopper, default_plan
):
    # given: three paid orders due for accrual
    ids = paid_due_orders(3, through=chain[2], buyer=shopper, plan=default_plan)

    # when: the run is delivered twice, and a redelivered batch finds its rows again
    accrue_due_task.apply()
    first = set(Commission.objects.values_list("pk", flat=True))
    accrue_due_task.apply()
    AccrualDue.objects.bulk_create(AccrualDue(order_id=pk) for pk in ids)
    assert accrual.accrue_due() == 3

    # then: one set of commissions, nothing left due
    assert set(Commission.objects.values_list("pk", flat=True)) == first
    assert levels_by_order(ids) == dict.fromkeys(ids, TWO_LEVELS)
    assert not AccrualDue.objects.exists()
    assert verify_ledger().is_consistent


@pytest.mark.django_db
def test_an_order_accrued_singly_is_skipped_by_the_batch(chain, shopper, variant, address):
    order = sell(chain[2], buyer=shopper, variant=variant, address=address)
    single = services.accrue_commissions(order.pk)
    assert not AccrualDue.objects.filter(pk=order.pk).exists()  # the single path drops it
    # A batch held the row while the single accrual ran (see the PostgreSQL race below).
    AccrualDue.objects.create(order=order)

    assert accrual.accrue_due() == 1

    assert set(Commission.objects.filter(order=order)) == set(single)
    assert not AccrualDue.objects.exists()


@pytest.mark.django_db
def test_an_order_no_longer_paid_accrues_nothing_and_is_no_longer_due(
    chain, shopper, variant, address
):
    order = sell(chain[2], buyer=shopper, variant=variant, address=address)
    # refunded by a path that did not accrue it first
    Order.objects.filter(pk=order.pk).update(status=Order.Status.REFUNDED)

    assert accrual.accrue_due() == 1

    assert not Commission.objects.filter(order=order).exists()
    assert not Accrual.objects.filter(order=order).exists()
    assert not AccrualDue.objects.exists()


@pytest.mark.django_db
def test_a_refund_before_the_batch_accrues_and_reverses_once(chain, shopper, make_variant, address):
    staff = type(shopper).objects.create_user("staff", is_staff=True)
    order = order_services.place_order(
        shopper,
        [(make_variant(price="100.00").pk, 1)],
        address=address,
        referral_code=chain[2].invite_code,
    )
    order = pay(order)
    refunds.refund_order(order, actor=staff, reason="out of stock")

    assert accrual.accrue_due() == 0  # the refund accrued it, under its lock, and took the row

    kinds = sorted(
        LedgerEntry.objects.filter(commission__order=order).values_list("kind", "pending")
    )
    assert kinds == [
        ("accrued", Decimal("5.00")),
        ("accrued", Decimal("10.00")),
        ("reversed", Decimal("-10.00")),
        ("reversed", Decimal("-5.00")),
    ]
    assert verify_ledger().is_consistent


@pytest.mark.django_db
def test_a_batch_that_fails_on_one_order_accrues_the_others_and_sets_it_aside(
    chain, shopper, default_plan, caplog
):
    ids = paid_due_orders(4, through=chain[2], buyer=shopper, plan=default_plan)
    bad = ids[1]
    real = accrual._accrue

    def breaks_on_bad(order_ids):
        if bad in order_ids:
            raise ValueError("a broken order")
        return real(order_ids)

    with mock.patch.object(accrual, "_accrue", breaks_on_bad):
        assert accrual.accrue_due() == 4
        assert accrual.accrue_due() == 0  # the bad one no longer comes first in every batch

    assert set(levels_by_order(ids)) == set(ids) - {bad}
    held = AccrualDue.objects.get()
    assert (held.pk, held.failures) == (bad, 1)
    assert "a broken order" in held.last_error
    # when: the sweep retries it once the cause is gone
    assert services.accrue_missing_commissions() == 1
    assert levels_by_order([bad]) == {bad: TWO_LEVELS}
    assert not AccrualDue.objects.exists()


# --- runs: requested once per burst, still when the cache is down --------------------------


@pytest.mark.django_db
def test_a_burst_requests_one_run_and_a_started_run_lets_the_next_be_requested(settings):
    with mock.patch("core.outbox.enqueue") as enqueue:
        accrual.request_run()
        accrual.request_run()
        assert enqueue.call_count == 1
        with mock.patch.object(accrual, "accrue_due", return_value=0):
            accrual.run_due()
        accrual.request_run()
    assert enqueue.call_count == 2


@pytest.mark.django_db
def test_with_the_cache_down_every_payment_still_requests_a_run():
    from django.core.cache import cache

    with (
        mock.patch.object(cache, "add", return_value=False),  # core.cache in an outage
        mock.patch.object(cache, "get", return_value=None),
        mock.patch("core.outbox.enqueue") as enqueue,
    ):
        accrual.request_run()
        accrual.request_run()
    assert enqueue.call_count == 2


@pytest.mark.django_db
def test_a_paid_order_accrues_after_the_commit(
    chain, shopper, variant, address, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        order = sell(chain[2], buyer=shopper, variant=variant, address=address)

    assert levels_by_order([order.pk]) == {order.pk: [(1, Decimal("10.00")), (2, Decimal("5.00"))]}
    assert not AccrualDue.objects.exists()


# --- what the earners are told --------------------------------------------------------------


@pytest.mark.django_db
def test_an_earner_with_several_orders_in_a_batch_gets_one_digest_and_one_email(
    chain,
    make_distributor,
    make_user,
    shopper,
    make_variant,
    address,
    django_capture_on_commit_callbacks,
):
    alice, bob, carol = chain
    dave = make_distributor("dave", parent=alice)
    for person in (alice, bob, carol, dave):
        NotificationSettings.objects.create(user=person.user, language="en")
    variant = make_variant(price="100.00")
    for _ in range(3):
        sell(carol, buyer=shopper, variant=variant, address=address)
    alone = sell(dave, buyer=make_user("erin"), variant=variant, address=address)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert accrual.accrue_due() == 4
    accrue_due_task.apply()  # a repeated run tells no one again

    # carol earned level 1 on three orders, bob level 2 on the same three: one digest each
    (digest,) = SiteMessage.objects.filter(recipient=carol.user, kind=Kind.COMMISSION_ACCRUED)
    assert digest.title == "3 orders earned you ¥30.00 pending commission"
    assert digest.link.endswith("/earnings/")
    (bobs,) = SiteMessage.objects.filter(recipient=bob.user, kind=Kind.COMMISSION_ACCRUED)
    assert bobs.title == "3 orders earned you ¥15.00 pending commission"
    # dave's one order (and alice's level 2 on it) keep the message an order always gave
    (daves,) = SiteMessage.objects.filter(recipient=dave.user, kind=Kind.COMMISSION_ACCRUED)
    assert daves.event_key == f"order:{alone.pk}:commission_accrued"
    assert daves.title == "Commission of ¥10.00 accrued"
    assert daves.link == Commission.objects.get(distributor=dave).get_absolute_url()
    (alices,) = SiteMessage.objects.filter(recipient=alice.user, kind=Kind.COMMISSION_ACCRUED)
    assert alices.title == "Commission of ¥5.00 accrued"
    # each email once, the digest's with its sum
    assert sorted((email.to[0], email.subject) for email in mail.outbox) == [
        ("alice@example.com", "Commission of ¥5.00 accrued"),
        ("bob@example.com", "3 orders earned you ¥15.00 pending commission"),
        ("carol@example.com", "3 orders earned you ¥30.00 pending commission"),
        ("dave@example.com", "Commission of ¥10.00 accrued"),
    ]


@pytest.mark.django_db
def test_a_batchs_email_that_must_wait_goes_on_alone_and_the_others_are_sent(chain):
    from notifications import deliveries
    from notifications.models import Delivery
    from notifications.services import Notice, notify_many
    from notifications.tasks import HAND_OVER_SECONDS, deliver, deliver_many

    bob, carol = chain[1].user, chain[2].user
    notify_many(
        [Notice(person, Kind.TEAM_MEMBER_JOINED, f"test:{person.pk}") for person in (bob, carol)]
    )
    bobs, carols = (Delivery.objects.get(message__event_key=f"test:{p.pk}") for p in (bob, carol))
    real = deliveries.deliver

    def bobs_server_is_busy(pk):
        if pk == bobs.pk:
            raise deliveries.TemporaryFailure("421 try again later")
        return real(pk)

    with (
        mock.patch.object(deliveries, "deliver", bobs_server_is_busy),
        mock.patch("core.outbox.enqueue") as enqueue,
    ):
        assert deliver_many([bobs.pk, carols.pk]) == 2

    assert Delivery.objects.get(pk=carols.pk).status == Delivery.Status.SENT
    assert [email.to for email in mail.outbox] == [[carol.email]]
    enqueue.assert_called_once_with(deliver, bobs.pk, countdown=HAND_OVER_SECONDS)


# --- PostgreSQL: concurrent batches, and a batch racing a refund's accrual --------------


def _in_thread(work, results, name):
    try:
        results[name] = work()
    except Exception as exc:  # noqa: BLE001 - reported to the test below
        results[name] = exc
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_batching_at_once_accrue_every_order_once(chain, shopper, default_plan):
    ids = paid_due_orders(300, through=chain[2], buyer=shopper, plan=default_plan)
    start = threading.Barrier(2)

    def worker():
        start.wait()
        taken = 0
        while batch := accrual.accrue_due(limit=25):
            taken += batch
        return taken

    results: dict[str, object] = {}
    threads = [
        threading.Thread(target=_in_thread, args=(worker, results, name)) for name in ("a", "b")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert results["a"] + results["b"] == 300, results  # disjoint rows, none taken twice
    assert Accrual.objects.filter(order_id__in=ids).count() == 300
    assert levels_by_order(ids) == dict.fromkeys(ids, TWO_LEVELS)
    assert not AccrualDue.objects.exists()
    assert verify_ledger().is_consistent


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_batch_holding_rows_leaves_them_to_others_and_skips_what_was_accrued_meanwhile(
    chain, shopper, default_plan
):
    ids = paid_due_orders(60, through=chain[2], buyer=shopper, plan=default_plan)
    claimed, go_on = threading.Event(), threading.Event()
    real = accrual._accrue

    def slow_first_batch(order_ids):
        if threading.current_thread().name == "held":
            claimed.set()  # its rows are claimed: hold them here
            assert go_on.wait(30)
        return real(order_ids)

    with mock.patch.object(accrual, "_accrue", slow_first_batch):
        results: dict[str, object] = {}
        held = threading.Thread(
            target=_in_thread,
            args=(lambda: accrual.accrue_due(limit=20), results, "held"),
            name="held",
        )
        held.start()
        assert claimed.wait(30)
        # when: another batch runs meanwhile, and a refund accrues one held order singly
        others = accrual.accrue_due(limit=100)
        refunded = ids[0]
        single = services.accrue_commissions(refunded)
        go_on.set()
        held.join(timeout=30)

    # then: the other batch took only the rows the held one did not have ...
    assert (results["held"], others) == (20, 40)
    # ... and the held batch found the order accrued singly and left it as it was
    assert set(Commission.objects.filter(order_id=refunded)) == set(single)
    assert levels_by_order(ids) == dict.fromkeys(ids, TWO_LEVELS)
    assert not AccrualDue.objects.exists()


# --- cost ------------------------------------------------------------------------------------


def _queries_of_a_batch(count, *, through, buyer, plan) -> int:
    paid_due_orders(count, through=through, buyer=buyer, plan=plan)
    with mock.patch("core.outbox.send"), CaptureQueriesContext(connection) as captured:
        assert accrual.accrue_due() == count
    return len(captured.captured_queries)


# PostgreSQL: SQLite's driver limit (999 parameters) splits Django's bulk inserts.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_batch_costs_the_same_queries_for_5_orders_as_for_50(chain, shopper, default_plan):
    from config.celery import app as celery_app

    services.rules_for(default_plan.pk)  # read once per process
    # the earners' deliveries go through the outbox, as in production (the
    # autouse _eager_celery fixture puts eager mode back)
    celery_app.conf.task_always_eager = False
    small = _queries_of_a_batch(5, through=chain[2], buyer=shopper, plan=default_plan)
    large = _queries_of_a_batch(50, through=chain[2], buyer=shopper, plan=default_plan)

    # BEGIN, claim the due rows, lock the orders, the accruals already there, the
    # chains' members, the accrual records, commissions and ledger entries, the
    # earners, their messages already there, the messages (in a savepoint: 3),
    # their deliveries, one outbox row, delete the due rows, COMMIT; and the
    # batch's own savepoint (2)
    assert small == large == 19
