"""Accruing commissions for 10,000 paid orders with one Celery worker process.

    python -m benchmarks.accrual [orders]

Creates a five-level network and the paid orders (bulk, without sending their
tasks), measures SQL queries per accrual in this process, then publishes one
accrual task per order to Redis and times one `celery worker --pool=solo`
process until every order is accrued. Needs DATABASE_URL (PostgreSQL) and
CELERY_BROKER_URL (Redis); without a broker it times accrual in-process.
"""

import json
import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

from benchmarks._harness import print_table, progress, setup_django, test_database

setup_django()

from django.contrib.auth.hashers import make_password  # noqa: E402

UNUSABLE = make_password(None)
BATCH = 2000
# Django logs these too; they are the transaction around the work, not queries.
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}


def make_orders(count: int) -> list[int]:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from catalog.models import Category, Product, Variant
    from commissions.models import CommissionPlan
    from distributors.network import join_network
    from distributors.tree import place_nodes
    from orders.models import Order, OrderLine

    User = get_user_model()
    parent = None
    for n in range(5):
        user = User.objects.create(username=f"level{n}", password=UNUSABLE)
        parent = join_network(user, invite_code=parent.invite_code if parent else None)
    place_nodes(parent.tree_id)
    from distributors.selectors import referral_chain_ids

    chain = referral_chain_ids(parent.pk, depth=10)
    shopper = User.objects.create(username="shopper", password=UNUSABLE)
    category = Category.objects.create(name="白酒", slug="baijiu")
    product = Product.objects.create(category=category, name="酒", slug="jiu")
    variant = Variant.objects.create(product=product, name="500ml", sku="B", price="168.00")
    plan = CommissionPlan.objects.get(is_active=True)
    now = timezone.now()
    ids: list[int] = []
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        orders = Order.objects.bulk_create(
            Order(
                user=shopper,
                status=Order.Status.PAID,
                subtotal=Decimal("336.00"),
                shipping_fee=Decimal("0.00"),
                total=Decimal("336.00"),
                recipient_name="张三",
                recipient_phone="13800138000",
                shipping_address="上海",
                distributor_id=chain[0],
                referral_chain=chain,
                commission_plan=plan,
                paid_at=now,
            )
            for _ in range(size)
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
        progress(len(ids), count, "paid orders")
    return ids


def queries_per_order(order_ids: list[int]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from commissions.services import accrue_commissions

    accrue_commissions(order_ids[0])  # reads the plan's rules once per process
    worst = 0
    for pk in order_ids[1:101]:
        with CaptureQueriesContext(connection) as captured:
            accrue_commissions(pk)
        statements = [
            q for q in captured.captured_queries if q["sql"].split()[0] not in TRANSACTION_CONTROL
        ]
        worst = max(worst, len(statements))
    return worst


def accrued_count() -> int:
    from commissions.models import Commission

    return Commission.objects.values("order").distinct().count()


def run_worker(order_ids: list[int]) -> tuple[float, str]:
    from django.conf import settings
    from django.db import connection

    from commissions.tasks import accrue_commissions_task
    from config.celery import app

    queue = f"bench-{uuid.uuid4().hex}"
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    for n, pk in enumerate(order_ids, start=1):
        accrue_commissions_task.delay(pk)
        progress(n, len(order_ids), "tasks published")
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
    worker = subprocess.Popen(  # noqa: S603
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
    expected = len(order_ids) + 101  # plus the ones measured in-process
    started = time.perf_counter()
    try:
        while (done := accrued_count()) < expected:
            progress(min(done, expected - 1), expected, "orders accrued")
            time.sleep(0.5)
            if worker.poll() is not None:
                raise RuntimeError("the worker exited")
        progress(expected, expected, "orders accrued")
        # the worker's start-up is in the time: a conservative figure
        return time.perf_counter() - started, "celery worker --pool=solo (Redis)"
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def run(count: int) -> dict:
    from django.conf import settings
    from django.db import connection

    from commissions.services import accrue_commissions

    ids = make_orders(count + 101)
    per_order = queries_per_order(ids)
    rest = ids[101:]
    if settings.CELERY_BROKER_URL.startswith("redis"):
        seconds, how = run_worker(rest)
    else:
        started = time.perf_counter()
        for n, pk in enumerate(rest, start=1):
            accrue_commissions(pk)
            progress(n, len(rest), "orders accrued")
        seconds, how = time.perf_counter() - started, "in-process (no broker configured)"
    return {
        "orders": len(rest),
        "orders_per_s": round(len(rest) / seconds, 1),
        "queries_per_order": per_order,
        "seconds": round(seconds, 2),
        "how": how,
        "database": connection.vendor,
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with test_database():
        result = run(count)
    print_table([{"measure": key, "value": value} for key, value in result.items()])
    print(json.dumps({k: result[k] for k in ("orders", "orders_per_s", "queries_per_order")}))
