"""Flash sale (秒杀): a thousand signed-in buyers check out at once for a hundred units.

    python -m benchmarks.flash_sale [--buyers 1000] [--units 100] [--workers 4]

Seeds a throw-away database with one hot variant holding ``--units`` in stock
and ``--buyers`` shoppers, each signed in (a session written in the seed) with
a saved default address, the hot item (one) already in their cart and the
checkout page already open: its one-time checkout token is issued in their
session, as the checkout page would have done. Serves the shop with one
gunicorn instance (``--workers`` processes, the project's gunicorn.conf.py:
gthread, 8 threads each) and one Celery worker, against PostgreSQL and Redis.

Locust starts every buyer at once (spawn rate = buyers); they wait for each
other, then each posts "Place order" once (the timed request) and leaves. The
answer is an order page, or a redirect to the cart with the refusal's message,
which tells "sold out" from "busy, try again": it is read from Django's
messages cookie (signed, not encrypted), so the cart page a browser would load
next is not part of the load.

Meanwhile a sampler reads PostgreSQL's pg_locks every 10 ms: the longest wait
for a lock it saw (``waitstart``) is ``max_wait_ms``, a lower bound of the
longest lock wait (waits shorter than the interval may be missed); the slowest
checkout answer bounds it from above. The gunicorn logs are searched for 5xx
answers, tracebacks and database pool timeouts.

Hard checks (exit status 1 when violated): exactly min(units, buyers) orders,
and the movements add up (stock 0, sold = -units, order lines = units, the
stock equal to the sum of its movements). The last line is one JSON object.
"""

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from benchmarks import _measure, _seed, _serve
from benchmarks._harness import print_table, test_database

PREFIX = _serve.prepare()

SAMPLE_EVERY_S = 0.01
LOCK_WAITS = """
    SELECT coalesce(max(extract(epoch FROM clock_timestamp() - l.waitstart)) * 1000, 0),
           count(*)
    FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE NOT l.granted AND a.datname = %s
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=1000)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    _serve.require_services("benchmarks.flash_sale", broker=True)

    logs = Path(tempfile.mkdtemp(prefix="bench-flash-"))
    print(f"logs of every process: {logs}", flush=True)
    try:
        with test_database() as database, _serve.Processes(logs) as processes:
            result = run(args, database, processes)
    finally:
        _serve.forget_run(PREFIX)
    good = report(args, result)
    if args.keep_logs or not good:
        print(f"logs kept in {logs}", file=sys.stderr)
    else:
        shutil.rmtree(logs)
    if not good:
        sys.exit(1)


def run(args, database: str, processes: _serve.Processes) -> dict:
    from django.db import connection
    from django.utils import timezone

    from orders import views as order_views
    from orders.cart import SESSION_KEY as CART_KEY

    print("[1/3] seeding the hot item and the buyers", flush=True)
    catalog = _seed.seed_catalog(1, stock=lambda n: args.units if n == 0 else 0)
    hot, product_path = catalog.variants[0]

    def open_checkout(shopper: dict) -> dict:
        shopper["checkout_token"] = str(uuid.uuid4())
        return {
            CART_KEY: {str(hot): 1},
            order_views.CHECKOUT_TOKEN_KEY: shopper["checkout_token"],
            order_views.CHECKOUT_ISSUED_KEY: timezone.now().timestamp(),
        }

    shoppers = _seed.seed_shoppers(args.buyers, session=open_checkout)
    connection.close()

    print(f"[2/3] serving: gunicorn {args.workers} workers, one Celery worker", flush=True)
    site = _serve.serve(processes, database, workers=args.workers)
    _serve.start_workers(processes, site, 1)
    _serve.warm(site.front, ["/__bare__/"] * 4 * args.workers + [product_path])

    print(f"[3/3] the sale: {args.buyers} buyers, {args.units} units", flush=True)
    sampler = LockWaitSampler(_serve.database_url(database), database)
    meter = _measure.CpuMeter(processes, database)
    cpu_before, machine_before = meter.sample(), meter.machine()
    sampler.start()
    try:
        phase = _serve.locust_phase(
            processes,
            "flash-sale",
            locustfile="locust_shop.py",
            classes=["FlashBuyer"],
            users=args.buyers,
            spawn_rate=args.buyers,
            seconds=30,
            cap=180,  # the buyers quit once all have had their answer
            host=site.front,
            env={
                "BENCH_BUYERS": str(args.buyers),
                "BENCH_SHOPPERS": str(_serve.write_json(processes.logs / "buyers.json", shoppers)),
                "BENCH_CHECKOUT": f"{site.front}/en/orders/checkout/",
            },
            stop_timeout=60,
            label="sale",
        )
    finally:
        sampler.stop()
    shop_cpu = meter.sample() - cpu_before
    others = meter.machine() - machine_before - shop_cpu - phase.locust_cpu_s
    served = [
        ms
        for method, path, _status, ms in _measure.access_log(processes, site)
        if method == "POST" and path.endswith("/orders/checkout/")
    ]
    return {
        "phase": phase,
        "served_ms": {
            "p50": _measure.percentile(served, 0.5),
            "p95": _measure.percentile(served, 0.95),
            "max": max(served, default=0),
        },
        "checks": database_checks(hot, args.units, args.buyers),
        "server": _measure.server_errors(processes, site),
        "lock_wait_ms": round(sampler.longest_ms, 1),
        "lock_waiters_max": sampler.most_waiters,
        "pool": pool_limits(site, args.workers),
        "cores": {
            "shop": round(shop_cpu / phase.wall_s, 2),
            "locust": round(phase.locust_cpu_s / phase.wall_s, 2),
            "others": round(max(others, 0) / phase.wall_s, 2),
        },
    }


class LockWaitSampler(threading.Thread):
    """Reads pg_locks every SAMPLE_EVERY_S on a connection of its own: the longest
    lock wait seen and the most sessions waiting at once."""

    def __init__(self, url: str, database: str):
        super().__init__(daemon=True)
        self.url, self.database = url, database
        self.longest_ms, self.most_waiters = 0.0, 0
        self._stop_event = threading.Event()

    def run(self):
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop_event.is_set():
                longest, waiting = conn.execute(LOCK_WAITS, [self.database]).fetchone()
                self.longest_ms = max(self.longest_ms, float(longest))
                self.most_waiters = max(self.most_waiters, waiting)
                time.sleep(SAMPLE_EVERY_S)

    def stop(self):
        self._stop_event.set()
        self.join(timeout=5)


def pool_limits(site: _serve.Site, workers: int) -> dict:
    """The limits in force (the served processes share this one's settings): at most
    one database connection per gunicorn thread, each process's pool capped and its
    wait bounded, the checkout's lock wait bounded."""
    from django.conf import settings
    from django.db import connection

    pool = settings.DATABASES["default"].get("OPTIONS", {}).get("pool", {})
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        server_max = int(cursor.fetchone()[0])
    return {
        "gunicorn_threads": workers * int(site.env.get("GUNICORN_THREADS", 8)),
        "pool_max_per_process": pool.get("max_size"),
        "pool_timeout_s": pool.get("timeout"),
        "lock_timeout_ms": getattr(settings, "CHECKOUT_LOCK_TIMEOUT_MS", None),
        "postgres_max_connections": server_max,
    }


def database_checks(hot: int, units: int, buyers: int) -> dict:
    from django.db.models import Sum
    from django.db.models.functions import Coalesce

    from catalog.models import StockMovement, Variant
    from orders.models import Order, OrderLine

    variant = Variant.objects.get(pk=hot)
    moves = StockMovement.objects.filter(variant=variant)
    sold = moves.filter(kind=StockMovement.Kind.SOLD).aggregate(s=Coalesce(Sum("quantity"), 0))["s"]
    ledger = moves.aggregate(s=Coalesce(Sum("quantity"), 0))["s"]
    ordered = OrderLine.objects.filter(variant=variant).aggregate(s=Coalesce(Sum("quantity"), 0))[
        "s"
    ]
    expected = min(units, buyers)
    orders = Order.objects.count()
    return {
        "orders": orders,
        "expected_orders": expected,
        "stock_left": variant.stock,
        "sold": -sold,
        "ordered": ordered,
        "ledger": ledger,
        "exact": orders == expected,
        "movements_add_up": (
            -sold == ordered == expected and variant.stock == ledger == units - expected
        ),
    }


def report(args, result: dict) -> bool:
    phase, checks, server = result["phase"], result["checks"], result["server"]
    checkout = phase.row("checkout")
    outcomes = {name: row for name, row in phase.stats.items() if row["type"] == "OUTCOME" and name}
    window_s = phase.row("sale window")["max_ms"] / 1000
    answered = sum(row["requests"] for row in outcomes.values())

    def count(*names):
        return sum(row["requests"] for name, row in outcomes.items() if name in names)

    http_errors = sum(  # busy pages (503 with Retry-After) apart
        row["requests"] for name, row in outcomes.items() if name.startswith("HTTP")
    )
    timeouts = count("timeout", "no answer")
    known = {"order", "sold out", "busy", "busy (503 page)", "timeout", "no answer"}
    other = {
        name: row["requests"]
        for name, row in outcomes.items()
        if name not in known and not name.startswith("HTTP")
    }
    slowest_held = max(  # the requests that queued on the row lock
        [outcomes[name]["max_ms"] for name in ("order", "busy") if name in outcomes] or [0]
    )
    print_table(
        [
            {
                "outcome": name,
                "count": row["requests"],
                "p50_ms": row["p50_ms"],
                "p95_ms": row["p95_ms"],
                "max_ms": row["max_ms"],
            }
            for name, row in sorted(outcomes.items(), key=lambda item: -item[1]["requests"])
        ]
    )
    print(
        f"checkout: {checkout['requests']} posts in {window_s:.2f} s "
        f"(first sent to last answered), p50 {checkout['p50_ms']} ms, "
        f"p95 {checkout['p95_ms']} ms, slowest {checkout['max_ms']} ms"
    )
    served = result["served_ms"]
    print(
        f"in gunicorn (its access log, queueing for a thread not counted): p50 "
        f"{served['p50']} ms, p95 {served['p95']} ms, slowest {served['max']} ms"
    )
    print(
        "database: {orders} orders (expected {expected_orders}), stock left {stock_left}, "
        "sold {sold}, order lines {ordered}, ledger {ledger}".format(**checks)
    )
    print(
        f"lock waits (pg_locks every {SAMPLE_EVERY_S * 1000:.0f} ms): longest seen "
        f"{result['lock_wait_ms']} ms, at most {result['lock_waiters_max']} waiting at once; "
        f"slowest order or busy answer {slowest_held} ms"
    )
    pool = result["pool"]
    print(
        f"limits: at most {pool['gunicorn_threads']} connections (one per gunicorn thread), "
        f"pool max {pool['pool_max_per_process']} per process waited for at most "
        f"{pool['pool_timeout_s']} s, PostgreSQL max_connections "
        f"{pool['postgres_max_connections']}, checkout lock wait at most "
        f"{pool['lock_timeout_ms']} ms"
    )
    print(
        f"server: {server['http_5xx']} answers 5xx, {server['tracebacks']} tracebacks, "
        f"{server['pool_timeouts']} pool timeouts"
        + (f"; first error: {server['first_error']}" if server["first_error"] else "")
    )
    cores = result["cores"]
    print(
        f"CPU during the sale (cores busy): the shop {cores['shop']} (gunicorn, Celery, "
        f"PostgreSQL), locust {cores['locust']}, anything else on the machine {cores['others']}"
    )
    for name, n in other.items():
        print(f"other outcome x{n}: {name}")
    if answered != args.buyers:
        print(f"only {answered} of {args.buyers} buyers had an answer", file=sys.stderr)
    figures = {
        "buyers": args.buyers,
        "units": args.units,
        "orders": checks["orders"],
        "checkouts_per_s": round(answered / window_s, 1) if window_s else 0.0,
        "p50_ms": checkout["p50_ms"],
        "p95_ms": checkout["p95_ms"],
        "sold_out": count("sold out"),
        "busy": count("busy"),
        "busy_503": count("busy (503 page)"),
        "errors": http_errors,
        "timeouts": timeouts,
        "other": sum(other.values()),
        "max_wait_ms": result["lock_wait_ms"],
        "slowest_order_or_busy_ms": slowest_held,
        "sold_out_p95_ms": outcomes.get("sold out", phase.row(""))["p95_ms"],
        "in_gunicorn_p50_ms": served["p50"],
        "http_5xx": server["http_5xx"],
        "pool_timeouts": server["pool_timeouts"],
        "movements_add_up": checks["movements_add_up"],
        "cores": cores,
    }
    print(json.dumps(figures, ensure_ascii=False))
    if not checks["exact"]:
        print(
            f"FAILED: {checks['orders']} orders for {checks['expected_orders']} units",
            file=sys.stderr,
        )
    if not checks["movements_add_up"]:
        print("FAILED: the stock movements do not add up", file=sys.stderr)
    return checks["exact"] and checks["movements_add_up"]


if __name__ == "__main__":
    main()
