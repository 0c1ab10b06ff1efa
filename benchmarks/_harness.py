"""Shared set-up: Django on a fresh test database, timing and query counting."""

import os
import statistics
import sys
import time
from contextlib import contextmanager

import django


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
    django.setup()


@contextmanager
def test_database():
    """Create the test database (migrated), yield, then drop it."""
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield connection.settings_dict["NAME"]
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


class Timer:
    """Collects durations (ms) and query counts of one named step."""

    def __init__(self, name):
        self.name = name
        self.ms: list[float] = []
        self.queries: list[int] = []

    @contextmanager
    def measure(self):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            yield
            self.ms.append((time.perf_counter() - started) * 1000)
        self.queries.append(len(captured.captured_queries))

    def row(self) -> dict:
        ordered = sorted(self.ms)
        return {
            "step": self.name,
            "n": len(ordered),
            "p50_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
            "queries": max(self.queries),
        }


def print_table(rows: list[dict]) -> None:
    headers = list(rows[0])
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in headers]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for r in rows:
        print("  ".join(str(r[h]).ljust(w) for h, w in zip(headers, widths, strict=True)))


def progress(done: int, total: int, label: str) -> None:
    if done == total or done % max(1, total // 20) == 0:
        sys.stderr.write(f"\r{label}: {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()
