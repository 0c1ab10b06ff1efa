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
import csv
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from benchmarks._harness import print_table, progress, setup_django, test_database

setup_django()

ROOT = Path(__file__).resolve().parent.parent
CATEGORIES = [
    ("白酒", "baijiu", ["酱香型", "浓香型", "清香型"]),
    ("葡萄酒", "wine", ["红葡萄酒", "白葡萄酒"]),
]


def seed(products: int) -> dict[str, list[str]]:
    """A catalog of ``products`` products (two variants each) under five leaf categories."""
    from django.db import transaction

    from catalog import inventory
    from catalog.models import Category, Product, Variant
    from core.locks import lock_tree

    leaves = []
    with transaction.atomic():
        lock_tree("categories")
        for n, (name, slug, children) in enumerate(CATEGORIES):
            root = Category.objects.create(name=name, slug=slug, name_en=slug.title())
            for m, child in enumerate(children):
                leaves.append(Category.objects.create(name=child, slug=f"{slug}-{m}", parent=root))
            progress(n + 1, len(CATEGORIES), "categories")
    made = Product.objects.bulk_create(
        Product(
            category=leaves[n % len(leaves)],
            name=f"基准酒 {n}",
            name_en=f"Benchmark liquor {n}",
            slug=f"bench-{n}",
            description="醇厚绵长，回味悠久。" * 8,
        )
        for n in range(products)
    )
    variants = Variant.objects.bulk_create(
        Variant(product=p, name=size, sku=f"B{p.pk}-{size}", price=Decimal(price))
        for p in made
        for size, price in (("500ml", "168.00"), ("500ml×6", "958.00"))
    )
    chunk = 200
    for start in range(0, len(variants), chunk):
        batch = variants[start : start + chunk]
        inventory.move(
            [(v.pk, 100) for v in batch], kind=inventory.Kind.RECEIVED, reason="benchmark stock"
        )
        progress(min(start + chunk, len(variants)), len(variants), "stock received")
    roots = [slug for _, slug, _ in CATEGORIES]
    return {
        "bare": ["/__bare__/"],
        "home": ["/"],
        "category": [f"/c/{slug}/" for slug in roots] + [f"/c/{c.slug}/" for c in leaves],
        "product": [p.get_absolute_url() for p in made[:200]],
    }


def database_url(name: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(base + "/__bare__/", timeout=2).read()  # noqa: S310
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def warm(base: str, paths: list[str]) -> None:
    for path in paths:
        with urllib.request.urlopen(base + path, timeout=10) as response:  # noqa: S310
            if response.status != 200:
                raise RuntimeError(f"{path}: HTTP {response.status}")


def load(base: str, name: str, paths: list[str], args, workdir: Path) -> dict:
    """One locust run against ``paths``; its summary row."""
    prefix = workdir / name
    command = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "locustfile.py"),
        "--headless", "--users", str(args.users), "--spawn-rate", str(args.users),
        "--run-time", f"{args.seconds}s", "--host", base, "--csv", str(prefix),
        "--loglevel", "WARNING", "--only-summary", "--stop-timeout", "2",
    ]  # fmt: skip
    env = {**os.environ, "BENCH_PATHS": ",".join(paths)}
    with open(workdir / f"{name}.log", "w") as log:
        runner = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        started, shown = time.monotonic(), 0
        while runner.poll() is None:
            time.sleep(1)
            elapsed = min(int(time.monotonic() - started), args.seconds)
            if elapsed > shown:
                shown = elapsed
                progress(elapsed, args.seconds, f"  {name}: seconds")
    with open(f"{prefix}_stats.csv") as stats:
        total = next(row for row in csv.DictReader(stats) if row["Name"] == "Aggregated")
    if int(total["Request Count"]) == 0:
        raise RuntimeError(f"{name}: no requests completed, see {workdir / name}.log")
    return {
        "page": name,
        "requests": int(total["Request Count"]),
        "failures": int(total["Failure Count"]),
        "rps": round(float(total["Requests/s"]), 1),
        "p50_ms": float(total["50%"]),
        "p95_ms": float(total["95%"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--products", type=int, default=1000)
    args = parser.parse_args()

    from django.conf import settings
    from django.db import connection

    backend = settings.CACHES["default"]["BACKEND"]
    if connection.vendor != "postgresql" or "redis" not in backend.lower():
        sys.exit("benchmarks.storefront needs DATABASE_URL (PostgreSQL) and CACHE_URL (Redis).")

    with test_database() as name, tempfile.TemporaryDirectory() as tmp:
        pages = seed(args.products)
        connection.close()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            "DATABASE_URL": database_url(name),
            "DJANGO_DEBUG": "false",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "LOG_LEVEL": "WARNING",
        }
        print("collecting static files (manifest storage, as in production)", flush=True)
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        server = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "benchmarks.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
            ],  # fmt: skip
            cwd=ROOT,
            env=env,
        )
        try:
            wait_until_up(base)
            rows = []
            for number, (page, paths) in enumerate(pages.items(), start=1):
                print(
                    f"[{number}/{len(pages)}] {page}: {len(paths)} path(s), warming up", flush=True
                )
                warm(base, paths)
                rows.append(load(base, page, paths, args, Path(tmp)))
        finally:
            server.terminate()
            server.wait(timeout=30)

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
