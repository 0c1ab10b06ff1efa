"""A burst of 10,000 paid orders accrued by one Celery worker process, in batches.

    python -m benchmarks.accrual [orders] [paid_per_second]

Builds the five-level network of earlier runs and the orders (awaiting payment,
in bulk, not timed). In this process it counts the statements of one batch
(commissions.accrual.BATCH orders) and times it against 200 orders accrued
one per transaction (the work of one task per order, as before batches: a
ratio from the same run, whatever else the machine is doing). Starts one
`celery worker --pool=solo` (Redis broker, a queue of its own) and warms it
with 100 orders (start-up excluded from the figures: the worker is ready and
has read the plan before the burst). Then a producer here marks the orders
paid at `paid_per_second` (default 3,000, above what the worker is asked to
reach) in chunks of 250, each chunk as mark_paid leaves its orders (status
and paid_at set, due rows written, then commissions.accrual.request_run after
the commit), while the worker accrues.

Reports orders/s over the whole burst (first payment to last accrual), the
queries per order of a batch, and paid -> accrued (Accrual.ran_at - paid_at:
ran_at is stamped when the batch computes, a few ms before it commits) p50,
p95 and max over the burst's orders. Needs DATABASE_URL (PostgreSQL) and
CELERY_BROKER_URL (Redis); the worker and this process must share the cache
(CACHE_URL, Redis; when unset, the broker's Redis is used for it). Without a
broker it accrues in this process after the burst, for a figure of the code
alone.
"""

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

if "CACHE_URL" not in os.environ and os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
    os.environ["CACHE_URL"] = os.environ["CELERY_BROKER_URL"]  # shared by the worker

from benchmarks._harness import print_table, progress, setup_django, test_database  # noqa: E402

setup_django()

from django.contrib.auth.hashers import make_password  # noqa: E402

UNUSABLE = make_password(None)
CREATE_BATCH = 2000
SINGLE = 200  # orders accrued one per transaction here, as one task per order did
WARM_UP = 100
CHUNK = 250  # orders marked paid in one transaction by the producer
WORKER_TIMEOUT = 300  # seconds for the worker to finish the burst


def make_network():
    """The five-level chain of earlier runs (level4 sells); returns (chain ids, plan)."""
    from django.contrib.auth import get_user_model

    from commissions.models import CommissionPlan
    from distributors.network import join_network
    from distributors.selectors import referral_chain_ids
    from distributors.tree import place_nodes

    User = get_user_model()
    parent = None
    for n in range(5):
        user = User.objects.create(
            username=f"level{n}", email=f"level{n}@example.com", password=UNUSABLE
        )
        parent = join_network(user, invite_code=parent.invite_code if parent else None)
    place_nodes(parent.tree_id)
    return referral_chain_ids(parent.pk, depth=10), CommissionPlan.objects.get(is_active=True)


def make_orders(count: int, chain: list[int], plan) -> list[int]:
    """`count` orders of ¥336.00 through the chain, awaiting payment (bulk, untimed)."""
    from django.contrib.auth import get_user_model

    from catalog.models import Category, Product, Variant
    from orders.models import Order, OrderLine

    shopper = get_user_model().objects.create(username="shopper", password=UNUSABLE)
    category = Category.objects.create(name="白酒", slug="baijiu")
    product = Product.objects.create(category=category, name="酒", slug="jiu")
    variant = Variant.objects.create(product=product, name="500ml", sku="B", price="168.00")
    ids: list[int] = []
    for start in range(0, count, CREATE_BATCH):
        orders = Order.objects.bulk_create(
            Order(
                user=shopper,
                status=Order.Status.PENDING_PAYMENT,
                subtotal=Decimal("336.00"),
                shipping_fee=Decimal("0.00"),
                total=Decimal("336.00"),
                recipient_name="张三",
                recipient_phone="13800138000",
                shipping_address="上海",
                distributor_id=chain[0],
                referral_chain=chain,
                commission_plan=plan,
            )
            for _ in range(min(CREATE_BATCH, count - start))
        )
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                variant=variant,
                product_name="酒",
                variant_name="500ml",
                sku="B",
                unit_price=Decimal("168.00"),
                quantity=2,
                line_total=Decimal("336.00"),
                paid_amount=Decimal("336.00"),
            )
            for order in orders
        )
        ids += [order.pk for order in orders]
        progress(len(ids), count, "orders placed")
    return ids


def mark_paid(order_ids: list[int], *, request_run: bool = True) -> None:
    """What mark_paid leaves for these orders, in one transaction: paid, due, and a run
    requested after the commit (commissions.accrual.schedule_accrual, for a chunk)."""
    from django.db import transaction
    from django.utils import timezone

    from commissions import accrual
    from commissions.models import AccrualDue
    from orders.models import Order

    with transaction.atomic():
        now = timezone.now()
        Order.objects.filter(pk__in=order_ids).update(status=Order.Status.PAID, paid_at=now)
        AccrualDue.objects.bulk_create(AccrualDue(order_id=pk, due_since=now) for pk in order_ids)
        if request_run:
            transaction.on_commit(accrual.request_run)


def batch_statements(order_ids: list[int]) -> tuple[Counter, float]:
    """The statements of one batch of these (paid, due) orders, by kind, and its
    orders/s, in this process."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from commissions import accrual

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        taken = accrual.accrue_due(limit=len(order_ids))
        seconds = time.perf_counter() - started
    assert taken == len(order_ids), taken
    return Counter(_kind(q["sql"]) for q in captured.captured_queries), len(order_ids) / seconds


def one_by_one(order_ids: list[int]) -> float:
    """Orders/s accrued one per transaction in this process (the work of one task per
    order, without the broker), for the ratio to a batch in the same run."""
    from commissions.services import accrue_commissions

    started = time.perf_counter()
    for n, pk in enumerate(order_ids, start=1):
        accrue_commissions(pk)
        progress(n, len(order_ids), "orders accrued one by one")
    return len(order_ids) / (time.perf_counter() - started)


def _kind(sql: str) -> str:
    words = sql.split()
    if words[0] in ("INSERT", "DELETE"):
        return f"{words[0]} {words[2].strip(chr(34))}"
    if words[0] == "UPDATE":
        return f"UPDATE {words[1].strip(chr(34))}"
    if words[0] == "SELECT":
        table = words[words.index("FROM") + 1].strip(chr(34)) if "FROM" in words else "?"
        return f"SELECT {table}{' FOR UPDATE' if 'FOR UPDATE' in sql else ''}"
    return words[0]


def accrued(order_ids: list[int]) -> int:
    from commissions.models import Accrual

    return Accrual.objects.filter(order_id__gte=order_ids[0], order_id__lte=order_ids[-1]).count()


def start_worker(queue: str) -> subprocess.Popen:
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        "DATABASE_POOL": "false",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    celery = Path(sys.executable).parent / "celery"
    return subprocess.Popen(  # noqa: S603
        [
            str(celery),
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def drop_queue(queue: str) -> None:
    """Delete what the run left in Redis for its queue (runs and emails never taken)."""
    from config.celery import app

    with app.connection_for_write() as conn:
        client = conn.default_channel.client
        keys = list(client.scan_iter(match=f"*{queue}*"))
        if keys:
            client.delete(*keys)


def wait_accrued(order_ids: list[int], worker: subprocess.Popen | None, label: str) -> None:
    deadline = time.monotonic() + WORKER_TIMEOUT
    shown = -1
    while (done := accrued(order_ids)) < len(order_ids):
        if done != shown:
            progress(done, len(order_ids), label)
            shown = done
        if worker is not None and worker.poll() is not None:
            raise RuntimeError("the worker exited")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{label}: {done}/{len(order_ids)} after {WORKER_TIMEOUT} s")
        time.sleep(0.1)
    progress(len(order_ids), len(order_ids), label)


def produce(order_ids: list[int], per_second: float) -> None:
    """Mark the orders paid in chunks, at `per_second` (as far as this process keeps up)."""
    started = time.perf_counter()
    for n, start in enumerate(range(0, len(order_ids), CHUNK)):
        due = started + n * CHUNK / per_second
        if (wait := due - time.perf_counter()) > 0:
            time.sleep(wait)
        mark_paid(order_ids[start : start + CHUNK])
        progress(min(start + CHUNK, len(order_ids)), len(order_ids), "orders paid")


def burst_figures(order_ids: list[int]) -> dict:
    from commissions.models import Accrual

    rows = list(
        Accrual.objects.filter(order_id__in=order_ids).values_list("ran_at", "order__paid_at")
    )
    assert len(rows) == len(order_ids), len(rows)
    delays = sorted((ran - paid).total_seconds() for ran, paid in rows)
    first_paid = min(paid for _ran, paid in rows)
    last_paid = max(paid for _ran, paid in rows)
    last_accrued = max(ran for ran, _paid in rows)
    seconds = (last_accrued - first_paid).total_seconds()
    return {
        "orders_per_s": round(len(rows) / seconds, 1),
        "burst_s": round(seconds, 2),
        "paid_per_s": round(len(rows) / max((last_paid - first_paid).total_seconds(), 1e-6), 1),
        "paid_to_accrued_p50_s": round(statistics.median(delays), 3),
        "paid_to_accrued_p95_s": round(delays[int(0.95 * (len(delays) - 1))], 3),
        "paid_to_accrued_max_s": round(delays[-1], 3),
    }


def check_once(order_ids: list[int], levels: int) -> None:
    """Every order accrued once: one record, `levels` commissions each, nothing left due."""
    from commissions.models import AccrualDue, Commission

    commissions = Commission.objects.filter(order_id__in=order_ids).count()
    if commissions != levels * len(order_ids) or AccrualDue.objects.exists():
        raise RuntimeError(f"{commissions} commissions for {len(order_ids)} orders")


def run(count: int, per_second: float) -> dict:
    from django.conf import settings
    from django.db import connection

    from commissions import accrual
    from commissions.accrual import BATCH as MEASURED  # one batch as the worker runs it
    from commissions.models import Commission
    from commissions.rules import rules_for
    from config.celery import app

    chain, plan = make_network()
    ids = make_orders(MEASURED + SINGLE + WARM_UP + count, chain, plan)
    measured, single = ids[:MEASURED], ids[MEASURED : MEASURED + SINGLE]
    warm_up, burst = ids[MEASURED + SINGLE : -count], ids[-count:]
    with_broker = settings.CELERY_BROKER_URL.startswith("redis")
    queue = f"bench-{uuid.uuid4().hex}"
    app.conf.task_always_eager = not with_broker
    app.conf.task_default_queue = queue

    rules_for(plan.pk)  # read once per process, as in the worker
    mark_paid(measured + single, request_run=False)  # accrued here
    statements, batch_rate = batch_statements(measured)
    per_order = sum(statements.values()) / len(measured)
    single_rate = one_by_one(single)

    worker = start_worker(queue) if with_broker else None
    try:
        if worker is not None:
            mark_paid(warm_up)
            wait_accrued(warm_up, worker, "warm-up orders accrued (worker starting)")
            produce(burst, per_second)
            wait_accrued(burst, worker, "orders accrued")
            how = "one celery worker --pool=solo (Redis), during the burst"
        else:
            for chunk in range(0, len(burst), CHUNK):
                mark_paid(burst[chunk : chunk + CHUNK], request_run=False)
            accrual.run_due(seconds=WORKER_TIMEOUT)
            how = "in this process, after the orders were paid (no broker configured)"
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
            drop_queue(queue)
    check_once(burst, levels=Commission.objects.filter(order_id=burst[0]).count() or 1)
    return {
        "orders": len(burst),
        **burst_figures(burst),
        "queries_per_order": round(per_order, 3),
        "queries_per_batch": sum(statements.values()),
        "batch_orders": len(measured),
        "in_process_batch_orders_per_s": round(batch_rate, 1),
        "in_process_one_by_one_orders_per_s": round(single_rate, 1),
        "batch_over_one_by_one": round(batch_rate / single_rate, 1),
        "how": how,
        "database": connection.vendor,
        "statements": statements,
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    per_second = float(sys.argv[2]) if len(sys.argv) > 2 else 3_000
    with test_database():
        result = run(count, per_second)
    statements = result.pop("statements")
    print_table([{"statement of a batch": sql, "n": n} for sql, n in sorted(statements.items())])
    print()
    print_table([{"measure": key, "value": value} for key, value in result.items()])
    print(
        json.dumps(
            {
                key: result[key]
                for key in (
                    "orders",
                    "orders_per_s",
                    "queries_per_order",
                    "paid_to_accrued_p95_s",
                    "paid_to_accrued_p50_s",
                    "paid_per_s",
                    "burst_s",
                    "batch_over_one_by_one",
                )
            }
        )
    )
