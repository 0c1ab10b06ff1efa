"""What the integration tests share: waiting for a worker, holding a table locked."""

import contextlib
import time

import psycopg
from django.db import connection


def wait_until(predicate, timeout: float = 40, interval: float = 0.2) -> bool:
    """Ask `predicate()` until it is true or `timeout` seconds passed; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@contextlib.contextmanager
def table_locked(model, mode: str):
    """A second connection holds `model`'s table (LOCK TABLE ... IN `mode` MODE) for the
    block, so a worker's statement on it waits there; released whatever happened, or
    every later test would wait on the lock."""
    dsn = connection.get_connection_params()
    blocker = psycopg.connect(
        host=dsn.get("host"),
        port=dsn.get("port"),
        user=dsn.get("user"),
        dbname=dsn.get("dbname"),
        autocommit=False,
    )
    try:
        blocker.execute(f"LOCK TABLE {model._meta.db_table} IN {mode} MODE")
        yield
    finally:
        blocker.rollback()
        blocker.close()
