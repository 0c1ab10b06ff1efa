"""The admin dashboard (经营概况) at a million orders: server time and queries of /admin/.

    python -m benchmarks.dashboard [--orders 1000000] [--distributors 100000]
                                   [--repeat 15] [--summary-days N] [--explain]
                                   [--keep | --reuse]

Seeds a throw-away PostgreSQL database with a shop of two years
(benchmarks._seed_orders: the network from benchmarks.network's builder,
shoppers, a catalog, orders with lines, payments, refunds, commissions and
ledger), times `reports.summaries.rebuild_day` for a day of 10,000 paid orders
(yesterday) and rebuilds the other days' summaries with `rebuild_range`, then
renders the admin home page for a superuser through django.test.Client: the
default period, ?period=30d and a custom 90-day period, each warmed up and then
timed `--repeat` times (server time: the request's wall time in-process;
queries counted with CaptureQueriesContext), plus the default page with the
cache cleared before each request. Prints the slowest queries of one render
(with --explain their EXPLAIN ANALYZE), the tables, and as the last line one
JSON object. Needs DATABASE_URL=postgres://...; the seed is PostgreSQL's SQL.

--keep leaves the seeded test_<name> database behind; --reuse measures it again
without seeding (after `manage.py migrate` on it, say, to try an index), timing
rebuild_day on its busy day again and skipping the other days.
"""

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from datetime import timedelta

from benchmarks._harness import Timer, print_table, setup_django, test_database

setup_django()

from benchmarks._seed_orders import Shop, say, seed  # noqa: E402

# Django logs these too; they are the transaction around the work, not queries.
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def build_summaries(shop: Shop, *, days: int | None = None) -> dict:
    """Time rebuild_day on the busy day, then rebuild the `days` days before it
    (all of them by default) with rebuild_range, with counted progress."""
    from django.db import connection

    from reports.models import DailySummary, DistributorDay, ProductDay
    from reports.summaries import rebuild_day, rebuild_range

    began = time.perf_counter()
    busy = rebuild_day(shop.busy_day)
    summary_day_s = time.perf_counter() - began
    say(
        f"summary of {shop.busy_day} ({busy.paid_orders:,} paid orders) "
        f"rebuilt in {summary_day_s:.2f} s"
    )

    end = shop.busy_day - timedelta(days=1)
    start = shop.first_day if days is None else max(shop.first_day, end - timedelta(days - 1))
    total = (end - start).days + 1 if days != 0 else 0
    every = max(1, total // 20)
    began = time.perf_counter()

    def progress(number: int, of: int, day) -> None:
        if number % every == 0 or number == of:
            per_day = (time.perf_counter() - began) * 1000 / number
            say(f"summaries {number:,}/{of:,} days (up to {day}, {per_day:.0f} ms a day)")

    rebuilt = rebuild_range(start, end, progress=progress) if total > 0 else 0
    range_s = time.perf_counter() - began
    # What autovacuum does soon after: without it the planner takes the summary
    # tables for nearly empty and spills the top lists' sums to disk.
    with connection.cursor() as cursor:
        for model in (DailySummary, ProductDay, DistributorDay):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    return {
        "summary_day_s": round(summary_day_s, 3),
        "summary_day_paid_orders": busy.paid_orders,
        "summary_days_rebuilt": rebuilt,
        "summary_range_s": round(range_s, 1),
        "summary_ms_per_day": round(range_s * 1000 / rebuilt, 1) if rebuilt else 0,
    }


def pages(today) -> dict[str, str]:
    start = today - timedelta(days=90)
    return {
        "/admin/ (default)": "/admin/",
        "/admin/?period=30d": "/admin/?period=30d",
        "/admin/ custom 90 days": f"/admin/?period=custom&start={start}&end={today}",
    }


def admin_client(shop: Shop):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(pk=shop.admin_id))
    return client


def _get(client, url: str):
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url}: HTTP {response.status_code}")
    return response


def measure(shop: Shop, *, repeat: int = 15, warmups: int = 3) -> list[dict]:
    """Median and p95 server ms and the query count of each page, warmed up first."""
    from django.core.cache import cache
    from django.utils import timezone

    client = admin_client(shop)
    urls = pages(timezone.localdate())
    for url in urls.values():
        for _ in range(warmups):
            _get(client, url)
    rows = []
    for name, url in urls.items():
        timer = Timer(name)
        for _ in range(repeat):
            with timer.measure():
                _get(client, url)
        rows.append({**timer.row(), "fixed_queries": len(set(timer.queries)) == 1})
    # The same page when nothing it keeps in the cache is there (a first visit).
    timer = Timer("/admin/ (cache cleared)")
    for _ in range(repeat):
        cache.clear()
        with timer.measure():
            _get(client, "/admin/")
    rows.append({**timer.row(), "fixed_queries": len(set(timer.queries)) == 1})
    return rows


def slowest_queries(shop: Shop, *, top: int = 5, explain: bool = False) -> list[dict]:
    """The slowest queries of one render of the default page (cache cleared), and
    with `explain` their EXPLAIN (ANALYZE, BUFFERS) on stderr."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = admin_client(shop)
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        _get(client, "/admin/")
    queries = [
        {"ms": round(float(q["time"]) * 1000, 1), "sql": q["sql"]}
        for q in captured.captured_queries
        if not q["sql"].startswith(TRANSACTION_CONTROL)
    ]
    queries.sort(key=lambda q: q["ms"], reverse=True)
    say(f"slowest of the {len(queries)} queries of /admin/ (cache cleared):")
    for q in queries[:top]:
        say(f"  {q['ms']:8.1f} ms  {q['sql'][:300]}")
        if explain and q["sql"].lstrip().upper().startswith("SELECT"):
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
                for (line,) in cursor.fetchall():
                    say(f"      {line}")
    return queries[:top]


def stored_shop() -> Shop:
    """The shop a kept database (--keep) holds, for measuring it again (--reuse)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Max

    from catalog.models import Product
    from distributors.models import Distributor
    from orders.models import Order
    from reports.models import DailySummary
    from reports.summaries import first_day

    User = get_user_model()
    busy = DailySummary.objects.order_by("-paid_orders").first()
    if busy is None:
        raise SystemExit("no daily summaries here: was this database kept by --keep?")
    latest = Order.objects.aggregate(latest=Max("created_at"))["latest"]
    say(f"reusing the shop seeded up to {latest:%Y-%m-%d %H:%M}; its busy day is {busy.day}")
    return Shop(
        orders=Order.objects.count(),
        distributors=Distributor.objects.count(),
        shoppers=User.objects.filter(username__startswith="shopper").count(),
        products=Product.objects.count(),
        first_day=first_day(),
        busy_day=busy.day,
        busy_orders=busy.paid_orders,
        admin_id=User.objects.get(username="bench-admin").pk,
        seed_s=0.0,
    )


def run(args) -> tuple[list[dict], dict]:
    from django.db import connection

    if args.reuse:
        shop = stored_shop()
        summaries = build_summaries(shop, days=0)
    else:
        shop = seed(
            args.orders,
            args.distributors,
            shoppers=args.shoppers,
            products=args.products,
            days=args.days,
            busy=args.busy,
        )
        say(f"seeded in {shop.seed_s:.0f} s")
        summaries = build_summaries(shop, days=args.summary_days)
    slowest_queries(shop, explain=args.explain)
    load_before = os.getloadavg()[0]
    rows = measure(shop, repeat=args.repeat)
    load_after = os.getloadavg()[0]
    default = rows[0]
    facts = {
        "orders": shop.orders,
        "distributors": shop.distributors,
        "shoppers": shop.shoppers,
        "products": shop.products,
        "seed_s": round(shop.seed_s, 1),
        **summaries,
        "dashboard_p50_ms": default["p50_ms"],
        "dashboard_p95_ms": default["p95_ms"],
        "dashboard_queries": default["queries"],
        "cold_p50_ms": rows[-1]["p50_ms"],
        "target_met": default["p50_ms"] < 300 and all(r["fixed_queries"] for r in rows),
        # Other work on the machine slows the pages down: the load around the measures.
        "load_1m": f"{load_before:.1f} -> {load_after:.1f} ({os.cpu_count()} CPUs)",
        "database": connection.vendor,
    }
    return rows, facts


@contextmanager
def database(*, keep: bool, reuse: bool):
    """The fresh test database of benchmarks._harness, or one kept for measuring again."""
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    if not (keep or reuse):
        with test_database() as name:
            yield name
        return
    setup_test_environment()
    if reuse:
        connection.close()
        connection.settings_dict["NAME"] = connection.creation._get_test_db_name()
    else:
        connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield connection.settings_dict["NAME"]
    finally:
        say(f"kept the database {connection.settings_dict['NAME']} (drop it when done)")
        teardown_test_environment()


def parse(argv: list[str]):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dashboard")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--distributors", type=int, default=100_000)
    parser.add_argument("--shoppers", type=int, default=None, help="default: 15%% of orders")
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--busy", type=int, default=10_000, help="paid orders of the busy day")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--summary-days", type=int, default=None, help="days rebuilt before the busy day (all)"
    )
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest")
    parser.add_argument("--keep", action="store_true", help="keep the test database after")
    parser.add_argument(
        "--reuse", action="store_true", help="measure a database kept by --keep again (no seed)"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import override_settings

    args = parse(argv)
    if connection.vendor != "postgresql":
        sys.exit(
            "benchmarks.dashboard needs PostgreSQL: set DATABASE_URL=postgres://user@host/name "
            "(it seeds in PostgreSQL's SQL, in a fresh test_<name> database it drops after)"
        )
    began = time.perf_counter()
    # The manifest storage needs collectstatic; the page's static URLs are not measured.
    plain = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    storages = {**settings.STORAGES, "staticfiles": plain}
    with database(keep=args.keep, reuse=args.reuse), override_settings(STORAGES=storages):
        rows, facts = run(args)
    facts["total_s"] = round(time.perf_counter() - began, 1)
    print_table(rows)
    print()
    print_table([{"measure": key, "value": value} for key, value in facts.items()])
    print(
        json.dumps(
            {
                "orders": facts["orders"],
                "distributors": facts["distributors"],
                "dashboard_ms": facts["dashboard_p50_ms"],
                "dashboard_queries": facts["dashboard_queries"],
                "summary_day_s": facts["summary_day_s"],
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
