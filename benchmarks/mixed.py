"""Browsing while others buy: page throughput with no purchases and with purchases, one run.

    python -m benchmarks.mixed [--seconds 20] [--users 16] [--workers 3] [--hosts 1|2]
                               [--buy-every-ms 100] [--buyers 40] [--products 1000]

Seeds a throw-away database (1,000 products, two variants each) and serves it
with gunicorn (the real settings and middleware, DEBUG off) against PostgreSQL
and Redis, with a Celery worker per host. Locust measures, for ``--seconds``
each: the bare view (the ceiling), then for each page kind (home, category,
search, product) ``--users`` browsers with no purchases ("idle"), then the same
browsers while buyers place one purchase every ``--buy-every-ms`` ("sales").

Buyers are their own locust users (``--buyers`` of them, signed in by sessions
written in the seed) taking purchase slots at a fixed pace, so the browsers stay
at a fixed concurrency. A purchase is the HTTP flow of a shopper's browser,
redirects followed: product page, add to cart, cart, checkout page, place the
order, order page, pay now, the sandbox cashier, confirm payment, the return
page; the Celery worker then delivers the sandbox's signed notification to the
site, which marks the order paid and enqueues accrual and notifications.
Each purchase is one bottle of a random variant of the 2,000 (a spread like a
shop's). Stock: 100 per variant, so nothing sells out and a sale changes no
stock a page shows; but every 20th variant starts at one above the most a page
counts (catalog.models.STOCK_SHOWN_UP_TO, "only N left"), so its first sale
crosses that threshold and each later one changes the number shown: about one
purchase in twenty makes pages stale (its product, its categories, searches).

``--hosts 2``: two gunicorn instances, browsers through the loopback balancer
(benchmarks._balancer), buyers sending each request to the other instance than
the one before (the cart filled on one, shown by the other, the checkout page
read on one and posted to the other...), and two Celery workers.

After the run the database must agree with what locust counted: orders placed =
orders locust saw placed, each paid, and the stock movements add up (sold =
order lines, every variant's stock = the sum of its movements).

Where the CPU goes: on a small machine the purchases take CPU the browsers
then miss, whatever the cache does. So gunicorn logs each request's CPU in its
thread (benchmarks/gunicorn_bench.py): ``page_cpu_ms``, the mean over the
phase's pages, is what a page costs the shop, however busy the machine; its
ratio sales/idle (``<kind>_page_cpu_under_sales``) near 1 says sales leave the
cached pages as cheap as without them, above 1 that they make them dearer
(pages rendered again). The shop's whole CPU (gunicorn, Celery, the balancer,
the PostgreSQL backends of the run's database, from /proc) is counted per
phase: ``cores`` per second, ``purchase_cpu_ms`` what is left per purchase once
the pages' share is taken out; ``locust_cores`` is locust's, ``others_cores``
whatever else the machine ran meanwhile (on a shared machine that makes every
figure of the phase smaller). ``missed_slots``: purchase slots no buyer was
free to take (all busy with a purchase).

Prints a table (page, phase, requests/s, p50, p95, failures, purchases, CPU)
and, as its last line, one JSON object. Needs DATABASE_URL (PostgreSQL),
CACHE_URL and CELERY_BROKER_URL (Redis).
"""

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from benchmarks import _measure, _seed, _serve
from benchmarks._harness import print_table, test_database

PREFIX = _serve.prepare()

KINDS = ["home", "category", "search", "product"]
STOCK = 100
FEW_EVERY = 20  # one variant in 20 starts one above the stock pages count ("only 10 left")
PLACED, PAID = "buy 05 place order", "buy 10 confirm payment"
BUYING = ("/en/", "/payments/")  # paths of the buyers' requests and their payments' notices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--users", type=int, default=16, help="browsers")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers per host")
    parser.add_argument("--hosts", type=int, choices=(1, 2), default=1)
    parser.add_argument("--buy-every-ms", type=int, default=100)
    parser.add_argument("--buyers", type=int, default=40, help="buyer users sharing the pace")
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args()
    _serve.require_services("benchmarks.mixed", broker=True)

    logs = Path(tempfile.mkdtemp(prefix="bench-mixed-"))
    print(f"logs of every process: {logs}", flush=True)
    try:
        with test_database() as database, _serve.Processes(logs) as processes:
            result = run(args, database, processes)
    finally:
        _serve.forget_run(PREFIX)
    report(args, result)
    if args.keep_logs or not result["clean"]:
        print(f"logs kept in {logs}", file=sys.stderr)
    else:
        shutil.rmtree(logs)


def run(args, database: str, processes: _serve.Processes) -> dict:
    from django.db import connection

    from catalog.models import STOCK_SHOWN_UP_TO

    catalog = _seed.seed_catalog(
        args.products, stock=lambda n: STOCK_SHOWN_UP_TO + 1 if n % FEW_EVERY == 0 else STOCK
    )
    shoppers = _seed.seed_shoppers(args.buyers)
    connection.close()
    site = _serve.serve(processes, database, instances=args.hosts, workers=args.workers)
    _serve.start_workers(processes, site, args.hosts)
    meter = _measure.CpuMeter(processes, database)
    logs = processes.logs
    buyers_env = {
        "BENCH_SHOPPERS": str(_serve.write_json(logs / "shoppers.json", shoppers)),
        "BENCH_VARIANTS": str(_serve.write_json(logs / "variants.json", catalog.variants)),
        "BENCH_BUY_HOSTS": ",".join(site.backends),
        "BENCH_BUY_EVERY_MS": str(args.buy_every_ms),
    }
    plan = [("bare", "idle")] + [(kind, phase) for kind in KINDS for phase in ("idle", "sales")]
    rows, phases, paid_so_far = [], [], 0
    for number, (kind, phase) in enumerate(plan, start=1):
        paths = catalog.pages[kind]
        buyers = args.buyers if phase == "sales" else 0
        print(f"[{number}/{len(plan)}] {kind}, {phase}: {len(paths)} path(s)", flush=True)
        _serve.warm(site.front, paths)
        cpu_before, machine_before, began = meter.sample(), meter.machine(), time.time()
        result = _serve.locust_phase(
            processes,
            f"{kind}-{phase}",
            locustfile="locust_shop.py",
            classes=["Browser", "Buyer"] if buyers else ["Browser"],
            users=args.users + buyers,
            seconds=args.seconds,
            cap=args.seconds + 60,  # the users leave when the phase is over
            host=site.front,
            env={
                **buyers_env,
                "BENCH_SECONDS": str(args.seconds),
                "BENCH_PATHS": ",".join(paths),
                "BENCH_BROWSERS": str(args.users),
                "BENCH_BUYERS": str(buyers),
            },
            label=f"{kind} {phase}",
        )
        cpu_during = meter.sample() - cpu_before
        others = meter.machine() - machine_before - cpu_during - result.locust_cpu_s
        settled = 0.0
        if buyers:  # the workers' part of the purchases counts in the phase's CPU
            paid_so_far += result.succeeded(PAID)
            settled = settle(paid_so_far)
        served = _measure.request_cpu(processes, began, time.time())
        pages = [ms for path, ms in served if not path.startswith(BUYING)]
        phases.append(result)
        rows.append(phase_row(kind, phase, result))
        rows[-1].update(
            page_cpu_ms=round(sum(pages) / max(len(pages), 1), 2),
            # what the purchases cost: all the shop's CPU but the pages' in gunicorn
            purchase_cpu_s=meter.sample() - cpu_before - sum(pages) / 1000,
            cores=round(cpu_during / result.wall_s, 2),
            locust_cores=round(result.locust_cpu_s / result.wall_s, 2),
            others_cores=round(max(others, 0) / result.wall_s, 2),
            settle_s=settled,
        )
    if site.balancer is not None:
        processes.stop(site.balancer)
    return {
        "rows": rows,
        "phases": phases,
        "checks": database_checks(phases),
        "server": _measure.server_errors(processes, site),
        "balancer": _last_line(processes.log("balancer")),
        "clean": True,
    }


def settle(paid_expected: int) -> float:
    """Wait until the workers have caught up: every confirmed payment's order paid and
    the queue empty, so the next phase starts quiet. Returns the seconds it took."""
    from orders.models import Order

    def check():
        paid = Order.objects.filter(status=Order.Status.PAID).count()
        if _serve.queue_length():
            paid = min(paid, paid_expected - 1)
        return paid, paid_expected

    return round(_serve.wait_for(check, timeout=180, label="  workers catching up"), 1)


def phase_row(kind: str, phase: str, result: _serve.Phase) -> dict:
    page = result.row("page")
    steps = {name: row for name, row in result.stats.items() if name.startswith("buy ")}
    return {
        "page": kind,
        "phase": phase,
        "rps": page["rps"],
        "requests": page["requests"],
        "p50_ms": page["p50_ms"],
        "p95_ms": page["p95_ms"],
        "failures": page["failures"],
        "purchases": result.succeeded(PAID),
        "purchase_failures": sum(
            row["failures"] for name, row in steps.items() if name != "buy refusal page"
        ),
        "checkout_p95_ms": result.row(PLACED)["p95_ms"] if phase != "idle" else "",
        "missed_slots": result.missed_slots if phase != "idle" else "",
    }


def database_checks(phases: list[_serve.Phase]) -> dict:
    """What the database says happened, against what locust counted."""
    from django.db.models import F, Sum
    from django.db.models.functions import Coalesce

    from catalog.models import STOCK_SHOWN_UP_TO, StockMovement, Variant
    from orders.models import Order, OrderLine

    placed = sum(phase.succeeded(PLACED) for phase in phases)
    confirmed = sum(phase.succeeded(PAID) for phase in phases)
    orders = Order.objects.count()
    paid = Order.objects.filter(status=Order.Status.PAID, paid_at__isnull=False).count()
    sold = StockMovement.objects.filter(kind=StockMovement.Kind.SOLD).aggregate(
        total=Coalesce(Sum("quantity"), 0)
    )["total"]
    ordered = OrderLine.objects.aggregate(total=Coalesce(Sum("quantity"), 0))["total"]
    off_ledger = (
        Variant.objects.annotate(moved=Coalesce(Sum("movements__quantity"), 0))
        .exclude(stock=F("moved"))
        .count()
    )
    return {
        "orders": orders,
        "orders_counted_by_locust": placed,
        "paid": paid,
        "payments_confirmed_by_locust": confirmed,
        "sold": -sold,
        "ordered": ordered,
        "variants_off_ledger": off_ledger,
        "variants_showing_few_left": Variant.objects.filter(stock__lte=STOCK_SHOWN_UP_TO).count(),
        "orders_match": orders == placed,
        "all_paid": paid == orders,
        "movements_add_up": -sold == ordered and off_ledger == 0,
    }


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def failure_kinds(phases: list[_serve.Phase]) -> dict[str, int]:
    kinds: Counter = Counter()
    for phase in phases:
        for failure in phase.failures:
            error = re.sub(r"^\w+\('(.*)'\)$", r"\1", failure["error"])
            who = "purchase" if failure["name"].startswith("buy") else "browse"
            kinds[f"{who}: {failure['name']}: {error}"] += failure["occurrences"]
    return dict(kinds)


def per_phase(rows: list[dict], column: str) -> dict:
    return {f"{row['page']}_{row['phase']}": row[column] for row in rows}


def report(args, result: dict) -> None:
    rows, phases, checks = result["rows"], result["phases"], result["checks"]
    bare = rows[0]["rps"]
    by = {(row["page"], row["phase"]): row for row in rows}
    for row in rows:
        row["share"] = round(row["rps"] / bare, 3) if bare else 0.0
        idle = by[(row["page"], "idle")]
        row["keep"] = round(row["rps"] / idle["rps"], 3) if row["phase"] == "sales" else ""
    sales_rows = [row for row in rows if row["phase"] == "sales"]
    purchases = sum(row["purchases"] for row in sales_rows)
    purchase_cpu_s = sum(row["purchase_cpu_s"] for row in sales_rows)
    figures = {"bare_rps": bare}
    for kind in KINDS:
        idle, sales = by[(kind, "idle")], by[(kind, "sales")]
        figures[f"{kind}_share_idle"] = idle["share"]
        figures[f"{kind}_share_sales"] = sales["share"]
        figures[f"{kind}_keep_under_sales"] = sales["keep"]
        figures[f"{kind}_page_cpu_under_sales"] = round(
            sales["page_cpu_ms"] / idle["page_cpu_ms"], 2
        )
    kinds = failure_kinds(phases)
    figures.update(
        {
            "purchases": purchases,
            "purchases_per_s": round(purchases / (len(sales_rows) * args.seconds), 2),
            "purchases_target_per_s": round(1000 / args.buy_every_ms, 2),
            "missed_slots": sum(row["missed_slots"] for row in sales_rows),
            "purchase_failures": sum(row["purchase_failures"] for row in sales_rows),
            "purchase_failure_kinds": {k: n for k, n in kinds.items() if k.startswith("purchase")},
            "p95_ms": per_phase(rows, "p95_ms"),
            "checkout_p95_ms": {row["page"]: row["checkout_p95_ms"] for row in sales_rows},
            "hosts": args.hosts,
            "failures": sum(row["failures"] for row in rows),
            "browse_failure_kinds": {k: n for k, n in kinds.items() if k.startswith("browse")},
            "page_cpu_ms": per_phase(rows, "page_cpu_ms"),
            "purchase_cpu_ms": round(1000 * purchase_cpu_s / max(purchases, 1)),
            "cores": per_phase(rows, "cores"),
            "others_cores": per_phase(rows, "others_cores"),
            "workers_caught_up_s": [row["settle_s"] for row in sales_rows],
            "database": checks,
            "server": result["server"],
        }
    )
    print(
        f"gunicorn {args.hosts} host(s) x {args.workers} workers, {args.hosts} Celery worker(s), "
        f"locust {args.users} browsers + {args.buyers} buyers, one purchase every "
        f"{args.buy_every_ms} ms in the sales phases, {args.seconds} s per phase, "
        f"{args.products} products"
    )
    print_table(
        [
            {k: row[k] for k in ("page", "phase", "rps", "share", "keep", "p50_ms", "p95_ms")}
            | {k: row[k] for k in ("failures", "purchases", "missed_slots", "purchase_failures")}
            | {k: row[k] for k in ("checkout_p95_ms", "page_cpu_ms", "cores", "locust_cores")}
            | {"others_cores": row["others_cores"]}
            for row in rows
        ]
    )
    print(
        "page_cpu_ms: gunicorn's CPU per page (its thread's); cores: the shop's CPU seconds "
        "per second (gunicorn, Celery, PostgreSQL); others_cores: whatever else ran on the "
        f"machine meanwhile; a purchase cost {1000 * purchase_cpu_s / max(purchases, 1):.0f} "
        "ms of the shop's CPU (all of it but the pages' in gunicorn, per purchase)"
    )
    print(
        "database: {orders} orders ({orders_counted_by_locust} counted by locust), {paid} paid "
        "({payments_confirmed_by_locust} payments confirmed), sold {sold} = ordered {ordered}, "
        "{variants_off_ledger} variant(s) off their ledger, {variants_showing_few_left} "
        "variant(s) showing how few are left".format(**checks)
    )
    if result["balancer"]:
        print(result["balancer"])
    for kind, count in kinds.items():
        print(f"failure x{count}: {kind}")
    server = result["server"]
    if server["http_5xx"] or server["tracebacks"] or server["pool_timeouts"]:
        print(f"server: {server}")
    result["clean"] = (
        not kinds
        and checks["orders_match"]
        and checks["all_paid"]
        and checks["movements_add_up"]
        and not server["http_5xx"]
    )
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
