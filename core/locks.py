"""Serialize structural writes of a tree (django-mptt) with an advisory lock.

django-mptt leaves mutual exclusion to its callers: two concurrent inserts can
both read the same lft/rght and corrupt the nested set. Every service that
inserts, moves or deletes a node takes this lock first. On PostgreSQL it is a
transaction-scoped advisory lock (released at commit or rollback); SQLite
already serializes writers, so there it is a no-op.
"""

import zlib

from django.db import connection, transaction


def tree_lock_key(name: str) -> int:
    """A stable 32-bit key for a named tree ("distributors", "categories")."""
    return zlib.crc32(f"mptt-tree:{name}".encode())


def lock_tree(name: str) -> None:
    """Take the tree's write lock until the current transaction ends."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("lock_tree() must be called inside transaction.atomic()")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [tree_lock_key(name)])
