"""Reads from a PostgreSQL replica (DATABASE_REPLICA_URL), only where asked for.

A replica serves the reports and the dashboard, whose queries scan many rows
and may be a moment behind the primary. Nothing else reads it: a read goes to
the replica only inside `reading_replica()` (a context manager and decorator),
and even there not inside a transaction on the primary (a transaction reads
what it wrote, which the replica may not have yet) and never for a write
(core.db_routers.ReplicaRouter decides). Without DATABASE_REPLICA_URL there is
no "replica" alias and every read goes to the primary.

The scope is a context variable: each thread (and each asyncio task) has its
own, so one request reading the replica never sends another's reads there.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"

_reading_replica: ContextVar[bool] = ContextVar("reading_replica", default=False)


def is_configured() -> bool:
    return REPLICA in settings.DATABASES


def read_alias() -> str:
    """Where a read made now goes: the replica inside the scope (configured, and no
    transaction open on the primary), else the primary."""
    if (
        _reading_replica.get()
        and is_configured()
        and not connections[DEFAULT_DB_ALIAS].in_atomic_block
    ):
        return REPLICA
    return DEFAULT_DB_ALIAS


@contextmanager
def reading_replica(*, caught_up_to: datetime | None = None):
    """Read-only queries in this block read the replica (see the module's docstring).

    `caught_up_to`: read it only if it has replayed every transaction the primary
    committed up to that moment (an export's chunks must all see the rows of
    its `as_of`); otherwise the block reads the primary. Costs one query.
    """
    use = caught_up_to is None or has_replayed_up_to(caught_up_to)
    token = _reading_replica.set(use)
    try:
        yield
    finally:
        _reading_replica.reset(token)


def has_replayed_up_to(moment: datetime) -> bool:
    """The replica has every transaction committed on the primary up to `moment`.

    A server not in recovery (the primary itself, as in tests) has them all; a
    standby that has replayed no commit since `moment` cannot show it has,
    so an idle primary leaves the reads there, which is always right.
    """
    if not is_configured():
        return False
    connection = connections[REPLICA]
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), pg_last_xact_replay_timestamp()")
        in_recovery, replayed = cursor.fetchone()
    return not in_recovery or (replayed is not None and replayed >= moment)
