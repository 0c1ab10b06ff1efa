"""Structural writes of the distributor tree, fast at 100,000 members.

django-mptt renumbers the nested set on every insert: a join under a random
parent touches about half the tree (~535 ms at 100,000 members here). A join
must not wait for that, so the work is split:

1. A join (`insert_node`) only inserts the row with its parent link and its
   level, *unplaced* (lft = rght = 0). The parent link is the source of truth:
   referral chains are read over it at once (`selectors.referral_chain_ids`),
   so the new member earns correctly from the first second.
2. Placing (`place_nodes`) recomputes the tree's nested set from the parent
   links in one pass and writes only the rows that changed. One placement per
   tree runs at a time (the tree's advisory lock) and it takes every member who
   joined since the last one, so a burst of joins costs one renumbering.
   Joins schedule it on commit (debounced through the cache); a beat task
   sweeps trees left with unplaced members, so views that read lft/rght (team
   totals, the admin tree) catch up within seconds, at worst a minute.

Moves (admin) hold the same lock and place the tree synchronously.
Sibling order is kept: placed nodes in their current lft order, newcomers after
them by id, which is also the order django-mptt's own `rebuild()` produces.
"""

import time
from collections import defaultdict
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Max

from core import outbox
from core.locks import lock_tree

from .models import Distributor

UNPLACED = 0
SCHEDULE_KEY = "distributors:placement-scheduled:{tree_id}"
SCHEDULE_DELAY_SECONDS = 1
# A scheduled placement clears its key when it starts. Should the key outlive
# it anyway (a cache not shared with the worker, a lost task), joins in the
# next few seconds are placed by the beat sweep instead.
SCHEDULE_KEY_TTL_SECONDS = 10
WRITE_BATCH = 5000


def tree_lock_name(tree_id: int) -> str:
    return f"distributors:{tree_id}"


def insert_node(user, parent: Distributor | None) -> Distributor:
    """Insert a distributor under `parent` (a new tree when None), unplaced.

    Touches no other row, so concurrent joins never wait for each other or for
    a placement in progress. The caller is inside a transaction.
    """
    if parent is None:
        lock_tree("distributors:roots")  # serializes tree_id allocation only
        tree_id = (Distributor.objects.aggregate(top=Max("tree_id"))["top"] or 0) + 1
        level = 0
    else:
        tree_id, level = parent.tree_id, parent.level + 1
    node = Distributor(
        user=user, parent=parent, tree_id=tree_id, level=level, lft=UNPLACED, rght=UNPLACED
    )
    Distributor.objects.bulk_create([node])  # bypasses MPTTModel.save()'s renumbering
    schedule_placement(tree_id)
    return node


def schedule_placement(tree_id: int) -> None:
    """Enqueue one placement of `tree_id` after commit, unless one is already queued."""
    from .tasks import place_new_members

    def enqueue():
        if cache.add(SCHEDULE_KEY.format(tree_id=tree_id), 1, timeout=SCHEDULE_KEY_TTL_SECONDS):
            outbox.enqueue(place_new_members, tree_id, countdown=SCHEDULE_DELAY_SECONDS)

    transaction.on_commit(enqueue, robust=True)  # a cache or broker outage: beat places them


@dataclass(frozen=True)
class Placement:
    tree_id: int
    members: int
    newly_placed: int
    rows_written: int
    seconds: float


def load_rows(tree_id: int, model=Distributor) -> list[tuple[int, int | None, int, int, int]]:
    """(id, parent_id, lft, rght, level) of every node of one tree of an MPTT model."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, parent_id, lft, rght, level FROM {model._meta.db_table} "  # noqa: S608
            "WHERE tree_id = %s",
            [tree_id],
        )
        return cursor.fetchall()


def compute_nested_set(
    rows: list[tuple[int, int | None, int, int, int]], *, include_unplaced: bool = True
) -> dict[int, tuple[int, int, int]]:
    """{id: (lft, rght, level)} for a tree given (id, parent_id, lft, rght, level) rows.

    Children keep their current order (lft), unplaced ones after them by id.
    With include_unplaced=False the unplaced members (and anything below them)
    are left out: that is what a valid tree must look like right now.
    """
    children: dict[int | None, list[tuple[int, int, int]]] = defaultdict(list)
    for node_id, parent_id, lft, _rght, _level in rows:
        if lft == UNPLACED and not include_unplaced:
            continue
        children[parent_id].append((lft == UNPLACED, lft, node_id))
    for siblings in children.values():
        siblings.sort()
    roots = children.get(None, [])
    result: dict[int, tuple[int, int, int]] = {}
    counter = 0
    for _u, _l, root_id in roots:
        # iterative depth-first walk: (node, level, entering?)
        stack = [(root_id, 0, False), (root_id, 0, True)]
        lefts: dict[int, int] = {}
        while stack:
            node_id, level, entering = stack.pop()
            counter += 1
            if entering:
                lefts[node_id] = counter
                for _u2, _l2, child_id in reversed(children.get(node_id, [])):
                    stack.append((child_id, level + 1, False))
                    stack.append((child_id, level + 1, True))
            else:
                result[node_id] = (lefts.pop(node_id), counter, level)
    return result


def _write(changes: list[tuple[int, int, int, int]]) -> None:
    table = Distributor._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(changes), WRITE_BATCH):
            batch = changes[start : start + WRITE_BATCH]
            if connection.vendor == "postgresql":
                values = ",".join(["(%s,%s,%s,%s)"] * len(batch))
                cursor.execute(
                    f"UPDATE {table} AS d SET lft = v.lft, rght = v.rght, level = v.level "  # noqa: S608
                    f"FROM (VALUES {values}) AS v(id, lft, rght, level) WHERE d.id = v.id",
                    [value for row in batch for value in row],
                )
            else:
                cursor.executemany(
                    f"UPDATE {table} SET lft = %s, rght = %s, level = %s WHERE id = %s",  # noqa: S608
                    [(lft, rght, level, node_id) for node_id, lft, rght, level in batch],
                )


@transaction.atomic
def place_nodes(tree_id: int) -> Placement:
    """Give every member of the tree its nested-set numbers; idempotent.

    Holds the tree's advisory lock, so placements and moves of one tree never
    interleave; joins go on meanwhile (they only insert).
    """
    started = time.perf_counter()
    lock_tree(tree_lock_name(tree_id))
    rows = load_rows(tree_id)
    expected = compute_nested_set(rows)
    changes = [
        (node_id, *expected[node_id])
        for node_id, _parent, lft, rght, level in rows
        if (lft, rght, level) != expected[node_id]
    ]
    _write(changes)
    return Placement(
        tree_id=tree_id,
        members=len(rows),
        newly_placed=sum(1 for row in rows if row[2] == UNPLACED),
        rows_written=len(changes),
        seconds=time.perf_counter() - started,
    )


def trees_with_unplaced_members() -> list[int]:
    return list(
        Distributor.objects.filter(lft=UNPLACED).values_list("tree_id", flat=True).distinct()
    )


@dataclass(frozen=True)
class TreeProblem:
    tree_id: int
    node_id: int
    found: tuple[int, int, int]
    expected: tuple[int, int, int] | None


def check_tree(tree_id: int, model=Distributor) -> tuple[list[TreeProblem], int]:
    """(problems, unplaced count) of one tree; unplaced members are not a problem.

    Works for any MPTT model (categories too): the nested set must be exactly
    what the parent links give, in the current sibling order.
    """
    rows = load_rows(tree_id, model)
    expected = compute_nested_set(rows, include_unplaced=False)
    problems = [
        TreeProblem(tree_id, node_id, (lft, rght, level), expected.get(node_id))
        for node_id, _parent, lft, rght, level in rows
        if lft != UNPLACED and expected.get(node_id) != (lft, rght, level)
    ]
    return problems, sum(1 for row in rows if row[2] == UNPLACED)


def reparent(node: Distributor, new_parent: Distributor | None) -> None:
    """Point `node` at `new_parent` and carry its subtree along (tree id, levels).

    The caller holds the locks of both trees and places them afterwards; the
    moved node becomes the last child of its new parent.
    """
    table = Distributor._meta.db_table
    if new_parent is None:
        lock_tree("distributors:roots")
        tree_id = (Distributor.objects.aggregate(top=Max("tree_id"))["top"] or 0) + 1
        level_shift = -node.level
    else:
        tree_id = new_parent.tree_id
        level_shift = new_parent.level + 1 - node.level
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH RECURSIVE subtree(id) AS (
                SELECT id FROM {table} WHERE id = %s
                UNION ALL
                SELECT d.id FROM {table} d JOIN subtree s ON d.parent_id = s.id
            )
            UPDATE {table} SET tree_id = %s, level = level + %s
            WHERE id IN (SELECT id FROM subtree)
            """,  # noqa: S608
            [node.pk, tree_id, level_shift],
        )
    Distributor.objects.filter(pk=node.pk).update(parent=new_parent, lft=UNPLACED, rght=UNPLACED)
