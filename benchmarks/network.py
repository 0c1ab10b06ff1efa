"""Joining a network of 100,000 members: join latency while placement catches up.

    python -m benchmarks.network [members] [joins]

Builds one tree of random shape (each member recruited by a uniformly random
earlier one), places it, then times `join_network` calls (one transaction each,
like a request) at random parents while a placer thread renumbers the tree
continuously, as the Celery worker does. Reports join p50/p95, how long the
tree takes to catch up after the last join, whether the final nested set is
exactly what django-mptt's own rebuild computes, a few plain django-mptt
inserts for comparison, and referral-chain reads (recursive query vs
get_ancestors). Run it against PostgreSQL (DATABASE_URL).
"""

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._harness import print_table, progress, setup_django, test_database

setup_django()

from django.contrib.auth.hashers import make_password  # noqa: E402

UNUSABLE = make_password(None)

BATCH = 5000
PLACER = """
import os, sys, time, django
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
django.setup()
from distributors import tree
while not os.path.exists(sys.argv[1]):
    if not tree.place_nodes(1).newly_placed:
        time.sleep(0.05)
"""


def build_network(members: int, rng: random.Random) -> list[int]:
    """Insert `members` users and distributors in one random tree; returns ids."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from distributors.models import Distributor, new_invite_code
    from distributors.tree import UNPLACED

    User = get_user_model()
    users = []
    for start in range(0, members, BATCH):
        users += User.objects.bulk_create(
            User(username=f"member{n}", password=UNUSABLE)
            for n in range(start, min(members, start + BATCH))
        )
        progress(len(users), members, "users")
    levels = [0] * members
    parents: list[int | None] = [None] * members
    for n in range(1, members):
        parents[n] = rng.randrange(n)
        levels[n] = levels[parents[n]] + 1
    codes = set()
    while len(codes) < members:
        codes.add(new_invite_code())
    codes = list(codes)
    first_id = 1
    for start in range(0, members, BATCH):
        Distributor.objects.bulk_create(
            Distributor(
                id=first_id + n,
                user_id=users[n].pk,
                parent_id=None if parents[n] is None else first_id + parents[n],
                invite_code=codes[n],
                tree_id=1,
                lft=UNPLACED,
                rght=UNPLACED,
                level=levels[n],
            )
            for n in range(start, min(members, start + BATCH))
        )
        progress(min(members, start + BATCH), members, "distributors")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                [Distributor._meta.db_table, first_id + members],
            )
    return [first_id + n for n in range(members)]


def matches_django_mptt(tree_id: int) -> bool:
    """Compare the stored nested set with django-mptt's own rebuild, computed in memory."""
    from distributors.models import Distributor

    manager = Distributor._tree_manager
    manager._find_out_rebuild_fields()
    roots = manager._get_parents(tree_id=tree_id)
    children = manager._get_children(tree_id=tree_id)
    computed = []
    for root in roots:
        manager._rebuild_helper(
            node=root,
            left=1,
            tree_id=tree_id,
            children=children,
            nodes_to_update=computed,
            level=0,
        )
    expected = {node.pk: (node.lft, node.rght, node.level) for node in computed}
    stored = {
        pk: (lft, rght, level)
        for pk, lft, rght, level in Distributor.objects.filter(tree_id=tree_id).values_list(
            "pk", "lft", "rght", "level"
        )
    }
    return expected == stored


def database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(members: int, joins: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from mptt.models import MPTTModel

    from distributors import network, tree
    from distributors.models import Distributor
    from distributors.selectors import referral_chain_ids

    rng = random.Random(20261125)
    ids = build_network(members, rng)
    started = time.perf_counter()
    first = tree.place_nodes(1)
    full_placement_s = time.perf_counter() - started
    print(f"placed {first.members} members in {full_placement_s:.2f} s", file=sys.stderr)

    # Joins schedule a placement on commit; here a placer process (as the Celery
    # worker would be) renumbers the tree over and over while the joins run.
    tree.schedule_placement = lambda tree_id: None
    stop_file = Path(tempfile.mkdtemp()) / "stop"
    env = {**os.environ, "DATABASE_URL": database_url(), "DATABASE_POOL": "false"}
    worker = subprocess.Popen([sys.executable, "-c", PLACER, str(stop_file)], env=env)  # noqa: S603

    User = get_user_model()
    codes = dict(Distributor.objects.filter(pk__in=ids).values_list("pk", "invite_code"))
    join_ms = []
    for n in range(joins):
        user = User.objects.create(username=f"joiner{n}", password=UNUSABLE)
        code = codes[rng.choice(ids)]
        began = time.perf_counter()
        network.join_network(user, invite_code=code)
        join_ms.append((time.perf_counter() - began) * 1000)
        progress(n + 1, joins, "joins")
    last_join = time.perf_counter()
    while tree.trees_with_unplaced_members():
        time.sleep(0.05)
    catch_up_s = time.perf_counter() - last_join
    stop_file.touch()
    worker.wait(timeout=120)

    # The same join done by plain django-mptt (renumbering inside the request).
    plain_ms = []
    for n in range(5):
        parent = Distributor.objects.get(pk=rng.choice(ids))
        node = Distributor(
            user=User.objects.create(username=f"plain{n}", password=UNUSABLE), parent=parent
        )
        began = time.perf_counter()
        MPTTModel.save(node)
        plain_ms.append((time.perf_counter() - began) * 1000)

    valid = matches_django_mptt(1) and tree.check_tree(1) == ([], 0)

    sample = [rng.choice(ids) for _ in range(200)]
    began = time.perf_counter()
    for pk in sample:
        referral_chain_ids(pk)
    chain_ms = (time.perf_counter() - began) * 1000 / len(sample)
    nodes = list(Distributor.objects.filter(pk__in=sample))
    began = time.perf_counter()
    for node in nodes:
        list(node.get_ancestors(ascending=True)[:3])
    ancestors_ms = (time.perf_counter() - began) * 1000 / len(nodes)

    return {
        "members": members,
        "joins": joins,
        "join_p50_ms": round(statistics.median(join_ms), 2),
        "join_p95_ms": round(percentile(join_ms, 0.95), 2),
        "plain_mptt_join_p50_ms": round(statistics.median(plain_ms), 1),
        "full_placement_s": round(full_placement_s, 2),
        "catch_up_s": round(catch_up_s, 2),
        "chain_cte_ms": round(chain_ms, 3),
        "get_ancestors_ms": round(ancestors_ms, 3),
        "tree_valid": valid,
        "database": connection.vendor,
    }


if __name__ == "__main__":
    members = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    joins = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    with test_database():
        result = run(members, joins)
    print_table([{"measure": key, "value": value} for key, value in result.items()])
    print(json.dumps(result))
