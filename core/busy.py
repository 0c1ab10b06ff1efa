"""A busy database: bounded waits, and what a visitor sees when one runs out.

Two waits are bounded so that a crowd (a flash sale, 秒杀) gets a quick answer
instead of a queue that ends in gunicorn's timeout:

  - a row lock: inside `lock_timeout(ms)` a statement that waits longer than
    `ms` for a lock fails with SQLSTATE 55P03 (`is_lock_timeout`), which the
    caller turns into a message ("try again in a moment");
  - a pooled connection: psycopg's pool waits DATABASE_POOL_TIMEOUT seconds for
    a free connection (config/settings.py), then raises PoolTimeout.

Any such error that reaches Django's error handler is answered by
`server_error` with the 503 page ("busy, try again") and a Retry-After header,
not the generic 500 page; other errors get the 500 page as before.
"""

import sys
from contextlib import contextmanager

from django.db import DatabaseError, transaction
from django.http import HttpResponse
from django.template import loader
from django.views import defaults
from django.views.decorators.csrf import requires_csrf_token
from psycopg_pool import PoolTimeout, TooManyRequests

LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout ran out
TOO_MANY_CONNECTIONS = "53300"  # the server's max_connections is reached
RETRY_AFTER_SECONDS = 5


@contextmanager
def lock_timeout(milliseconds: int, *, using: str | None = None):
    """Statements in the block wait at most `milliseconds` for a lock (PostgreSQL).

    The setting is transaction-local and is put back to its previous value when
    the block ends: later statements of the transaction, and the next user of the
    pooled connection, wait as they did before. A block that raises leaves the
    setting to the rollback of the caller's atomic block (its savepoint or the
    whole transaction), which undoes it; so keep only the waiting statement in
    the block. Two statements on PostgreSQL; nothing elsewhere (SQLite's writers
    queue on its own `timeout`).
    """
    connection = transaction.get_connection(using)
    if connection.vendor != "postgresql":
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("lock_timeout() must be used inside transaction.atomic()")
    with connection.cursor() as cursor:
        # One round trip: the value in force, and the new one for this transaction.
        cursor.execute(
            "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)",
            [f"{int(milliseconds)}ms"],
        )
        previous = cursor.fetchone()[0]
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error (Django's wrapper keeps psycopg's as its cause)."""
    return getattr(exc.__cause__, "sqlstate", None) or getattr(exc, "sqlstate", None)


def is_lock_timeout(exc: BaseException) -> bool:
    return isinstance(exc, DatabaseError) and _sqlstate(exc) == LOCK_NOT_AVAILABLE


def is_database_busy(exc: BaseException | None) -> bool:
    """The database could not take this request now (and may in a moment): no pooled
    connection came free in time, the server is at max_connections, a lock wait ran out."""
    if not isinstance(exc, DatabaseError):
        return False
    if isinstance(exc.__cause__, PoolTimeout | TooManyRequests):
        return True
    return _sqlstate(exc) in (LOCK_NOT_AVAILABLE, TOO_MANY_CONNECTIONS)


@requires_csrf_token
def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    """handler500: the 503 page for a busy database, Django's 500 page for the rest.

    Django calls it while it handles the exception, so the exception is the one
    in flight. Like the 500 page, the 503 page renders without the request's
    context processors: it must not need the database that is busy.
    """
    if not is_database_busy(sys.exc_info()[1]):
        return defaults.server_error(request, template_name)
    response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
