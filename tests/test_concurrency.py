"""Races that only real concurrent connections can show (PostgreSQL).

Each test starts real threads that wait on a Barrier and then hit the same
rows at once; Django gives every thread its own database connection, which
the thread closes when it is done. The tests need committed data that other
connections can see, hence `transaction=True`.
"""

import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterable

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation

from catalog.models import Variant
from commissions.models import Commission, LedgerEntry
from distributors.models import Distributor
from distributors.network import join_network
from distributors.tree import trees_with_unplaced_members
from orders.models import Order, OrderEvent
from orders.services import OutOfStock, place_order
from payments.gateways.sandbox import build_notification
from payments.models import Payment, PaymentNotification
from payments.services import start_payment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREAD_TIMEOUT = 60  # seconds; a thread still running after this is a deadlock


def _start_and_join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT)
    stuck = [thread.name for thread in threads if thread.is_alive()]
    assert not stuck, f"threads still running after {THREAD_TIMEOUT}s: {stuck}"


def run_at_once(work: Callable, arguments: Iterable) -> list:
    """Run `work(argument)` in one thread per argument, all released together.

    Returns what each call returned, or the exception it raised, in the order
    of `arguments`. Every thread closes its own database connection.
    """
    arguments = list(arguments)
    barrier = threading.Barrier(len(arguments))
    results: list = [None] * len(arguments)

    def run(index, argument):
        try:
            barrier.wait(timeout=THREAD_TIMEOUT)
            results[index] = work(argument)
        except Exception as exc:  # noqa: BLE001 - the test asserts on it
            results[index] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(index, argument), name=f"racer-{index}")
        for index, argument in enumerate(arguments)
    ]
    _start_and_join(threads)
    return results


def test_twenty_concurrent_checkouts_of_the_last_five_units_sell_exactly_five(
    make_user, make_variant, address
):
    # given
    variant = make_variant(stock=5)
    shoppers = [make_user(f"shopper{n}") for n in range(20)]

    # when
    results = run_at_once(
        lambda user: place_order(user, [(variant.pk, 1)], address=address), shoppers
    )

    # then
    unexpected = [r for r in results if not isinstance(r, Order | OutOfStock)]
    assert not unexpected, unexpected
    assert sum(isinstance(r, Order) for r in results) == 5
    assert sum(isinstance(r, OutOfStock) for r in results) == 15
    assert Order.objects.count() == 5
    assert Variant.objects.get(pk=variant.pk).stock == 0


def test_twenty_concurrent_deliveries_of_one_notification_pay_and_accrue_once(
    shopper, chain, make_variant, address, default_plan
):
    # given: an order attributed to carol (level 1), whose recruiter is bob (level 2)
    alice, bob, carol = chain
    variant = make_variant(price="100.00")
    order = place_order(
        shopper, [(variant.pk, 2)], address=address, referral_code=carol.invite_code
    )
    payment = start_payment(order, gateway_code="sandbox")
    payload = build_notification(payment)
    url = reverse("payments:notify", args=["sandbox"])

    # when: the gateway delivers the same notification 20 times at once
    responses = run_at_once(lambda _: Client().post(url, payload), range(20))

    # then
    failures = [r for r in responses if getattr(r, "status_code", None) != 200]
    assert not failures, failures
    assert {r.content.decode() for r in responses} == {"success"}
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert OrderEvent.objects.filter(order=order, to_status=Order.Status.PAID).count() == 1
    outcomes = Counter(
        PaymentNotification.objects.filter(payment=payment).values_list("outcome", flat=True)
    )
    assert outcomes == {"paid": 1, "duplicate": 19}
    commissions = {c.level: c for c in Commission.objects.filter(order=order)}
    assert {level: c.distributor_id for level, c in commissions.items()} == {
        1: carol.pk,
        2: bob.pk,
    }
    assert not Commission.objects.filter(distributor=alice).exists()
    accrued = Counter(
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ACCRUED).values_list(
            "commission_id", flat=True
        )
    )
    assert accrued == {c.pk: 1 for c in commissions.values()}


MPTT_FIELDS = ("tree_id", "lft", "rght", "level")


def _tree_snapshot() -> dict[int, tuple]:
    return {row[0]: row[1:] for row in Distributor.objects.values_list("pk", *MPTT_FIELDS)}


def test_fifty_concurrent_joins_under_one_parent_leave_a_valid_tree(make_user, make_distributor):
    # given
    leader = make_distributor("leader")
    recruits = [make_user(f"recruit{n}") for n in range(50)]

    # when
    results = run_at_once(lambda user: join_network(user, invite_code=leader.invite_code), recruits)

    # then
    unexpected = [r for r in results if not isinstance(r, Distributor)]
    assert not unexpected, unexpected
    assert set(Distributor.objects.filter(parent=leader).values_list("user_id", flat=True)) == {
        user.pk for user in recruits
    }
    # the placements the joins scheduled (eager here) caught up with every join
    assert trees_with_unplaced_members() == []
    leader.refresh_from_db()
    assert leader.get_descendant_count() == 50
    # The nested set as the joins left it is the one a rebuild from parent links computes.
    as_left = _tree_snapshot()
    Distributor.objects.rebuild()
    assert as_left == _tree_snapshot()


def test_fifty_concurrent_joins_under_different_parents_of_one_tree_leave_a_valid_tree(
    make_user, make_distributor
):
    # given: one tree with five parents, whose row locks alone would not serialize the joins
    leader = make_distributor("leader")
    parents = [make_distributor(f"lieutenant{n}", parent=leader) for n in range(5)]
    joins = [(make_user(f"recruit{n}"), parents[n % len(parents)].invite_code) for n in range(50)]

    # when
    results = run_at_once(lambda join: join_network(join[0], invite_code=join[1]), joins)

    # then
    unexpected = [r for r in results if not isinstance(r, Distributor)]
    assert not unexpected, unexpected
    assert trees_with_unplaced_members() == []
    leader.refresh_from_db()
    assert leader.get_descendant_count() == 55
    as_left = _tree_snapshot()
    Distributor.objects.rebuild()
    assert as_left == _tree_snapshot()


def run_on_pool(work: Callable, arguments: Iterable, *, workers: int = 40) -> list:
    """Run `work(argument)` for every argument over `workers` threads started together.

    Many more calls than PostgreSQL connections: each worker thread waits on a
    barrier, then takes arguments from a shared queue until it is empty, closing
    its connection after each call (with the pool, it goes back to the pool).
    Returns results or exceptions in the order of `arguments`.
    """
    arguments = list(arguments)
    pending: queue.SimpleQueue = queue.SimpleQueue()
    for index, argument in enumerate(arguments):
        pending.put((index, argument))
    barrier = threading.Barrier(workers)
    results: list = [None] * len(arguments)

    def worker():
        barrier.wait(timeout=THREAD_TIMEOUT)
        while True:
            try:
                index, argument = pending.get_nowait()
            except queue.Empty:
                return
            try:
                results[index] = work(argument)
            except Exception as exc:  # noqa: BLE001 - the test asserts on it
                results[index] = exc
            finally:
                connection.close()

    threads = [threading.Thread(target=worker, name=f"worker-{n}") for n in range(workers)]
    _start_and_join(threads)
    return results


def test_two_hundred_checkouts_for_the_last_ten_units_sell_exactly_ten(
    django_user_model, make_variant, address
):
    # given ten units, received as a movement, and 200 shoppers
    variant = make_variant(stock=10)
    shoppers = django_user_model.objects.bulk_create(
        django_user_model(username=f"buyer{n}", email=f"buyer{n}@example.com") for n in range(200)
    )

    # when all of them check out one unit at once
    def checkout(user):
        with translation.override("en"):
            return place_order(user, [(variant.pk, 1)], address=address)

    results = run_on_pool(checkout, shoppers, workers=40)

    # then exactly ten orders, and everyone else is told it is sold out
    outcomes = Counter(type(result).__name__ for result in results)
    assert outcomes == {"Order": 10, "OutOfStock": 190}, [
        r for r in results if not isinstance(r, Order | OutOfStock)
    ]
    sold_out = {str(r) for r in results if isinstance(r, OutOfStock)}
    assert sold_out == {f"{variant} is out of stock."}
    assert Order.objects.filter(lines__variant=variant).count() == 10
    variant.refresh_from_db()
    assert variant.stock == 0
    # the ledger explains the stock: 10 received, 10 sold one by one
    movements = Counter(variant.movements.values_list("kind", "quantity"))
    assert movements == {("received", 10): 1, ("sold", -1): 10}
    assert sum(variant.movements.values_list("quantity", flat=True)) == variant.stock


def test_twenty_concurrent_new_default_addresses_leave_exactly_one_default(make_user):
    from accounts.models import Address
    from tests.accounts.helpers import saved_address

    # given a shopper with a default address
    shopper = make_user("shopper")
    saved_address(shopper)

    # when twenty requests each add an address and make it the default
    results = run_at_once(
        lambda n: saved_address(shopper, f"上海市 上海市 浦东新区 {n}号", make_default=True),
        range(20),
    )

    # then every address was saved, and exactly one is the default
    assert not [r for r in results if isinstance(r, Exception)]
    assert Address.objects.filter(user=shopper).count() == 21
    assert Address.objects.filter(user=shopper, is_default=True).count() == 1
