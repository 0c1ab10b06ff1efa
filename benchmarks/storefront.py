"""Storefront throughput: gunicorn on loopback, PostgreSQL and Redis, locust as the load.

    python -m benchmarks.storefront [--seconds 30] [--users 16] [--workers 3] [--products 1000]

Seeds a throw-away database with a catalog, serves it with gunicorn (the real
settings and middleware, DEBUG off), and drives each page for ``--seconds`` at a
fixed concurrency with locust: a bare view (same middleware, no work) as the
ceiling, then the home, category and product pages. Prints requests/s and
p50/p95 per page and each page's share of the ceiling, then one JSON line.
Needs DATABASE_URL (PostgreSQL) and CACHE_URL (Redis).
"""

import argparse
import json
import tempfile
from pathlib import Path

from benchmarks import _seed, _serve
from benchmarks._harness import print_table, test_database

PREFIX = _serve.prepare()

PAGES = ["bare", "home", "category", "product"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--products", type=int, default=1000)
    args = parser.parse_args()
    _serve.require_services("benchmarks.storefront")

    from django.db import connection

    try:
        with (
            test_database() as database,
            tempfile.TemporaryDirectory() as logs,
            _serve.Processes(Path(logs)) as processes,
        ):
            catalog = _seed.seed_catalog(args.products)
            connection.close()
            site = _serve.serve(processes, database, workers=args.workers)
            rows = []
            for number, page in enumerate(PAGES, start=1):
                paths = catalog.pages[page]
                print(
                    f"[{number}/{len(PAGES)}] {page}: {len(paths)} path(s), warming up", flush=True
                )
                _serve.warm(site.front, paths)
                phase = _serve.locust_phase(
                    processes,
                    page,
                    locustfile="locustfile.py",
                    classes=[],
                    users=args.users,
                    seconds=args.seconds,
                    host=site.front,
                    env={"BENCH_PATHS": ",".join(paths)},
                )
                total = phase.row("Aggregated")
                if total["requests"] == 0:
                    raise RuntimeError(f"{page}: no requests completed")
                rows.append(
                    {
                        "page": page,
                        "requests": total["requests"],
                        "failures": total["failures"],
                        "rps": total["rps"],
                        "p50_ms": total["p50_ms"],
                        "p95_ms": total["p95_ms"],
                    }
                )
    finally:
        _serve.forget_run(PREFIX)

    bare = rows[0]["rps"]
    for row in rows:
        row["share"] = round(row["rps"] / bare, 3)
    print(
        f"gunicorn {args.workers} workers, locust {args.users} users, "
        f"{args.seconds} s per page, {args.products} products"
    )
    print_table(rows)
    by_page = {row["page"]: row for row in rows}
    print(
        json.dumps(
            {
                "bare_rps": by_page["bare"]["rps"],
                "home_rps": by_page["home"]["rps"],
                "category_rps": by_page["category"]["rps"],
                "product_rps": by_page["product"]["rps"],
                "category_share": by_page["category"]["share"],
                "product_share": by_page["product"]["share"],
                "p95_ms": {row["page"]: row["p95_ms"] for row in rows},
                "p50_ms": {row["page"]: row["p50_ms"] for row in rows},
                "failures": sum(row["failures"] for row in rows),
            }
        )
    )


if __name__ == "__main__":
    main()
