"""Reads from a replica (DATABASE_REPLICA_URL) only inside core.replica.reading_replica():
never for writes, never inside a transaction on the primary, never in another thread,
and nowhere without a replica. The replica here is the test database itself, under a
second alias (TEST MIRROR), so each query shows which connection ran it."""

import json
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import replica
from core.replica import REPLICA, reading_replica

BOTH = [DEFAULT_DB_ALIAS, REPLICA]


@contextmanager
def replica_of_the_primary():
    """DATABASES["replica"] as DATABASE_REPLICA_URL makes it, on the primary's test database."""
    primary = connections[DEFAULT_DB_ALIAS].settings_dict
    settings.DATABASES[REPLICA] = {
        **primary,
        "OPTIONS": dict(primary["OPTIONS"]),
        "TEST": {**primary["TEST"], "MIRROR": DEFAULT_DB_ALIAS},
    }
    try:
        yield
    finally:
        connections[REPLICA].close()
        if connections[REPLICA].vendor == "postgresql":
            connections[REPLICA].close_pool()
        del connections[REPLICA]
        del settings.DATABASES[REPLICA]


@pytest.fixture(scope="module")
def with_replica(django_db_setup, django_db_blocker):
    """The "replica" alias for this module's tests (set before their databases are checked)."""
    with django_db_blocker.unblock(), replica_of_the_primary():
        yield


@contextmanager
def queries_on(*aliases):
    """{alias: CaptureQueriesContext}: the statements each connection ran in the block."""
    captures = {alias: CaptureQueriesContext(connections[alias]) for alias in aliases}
    for capture in captures.values():
        capture.__enter__()
    try:
        yield captures
    finally:
        for capture in captures.values():
            capture.__exit__(None, None, None)


def ran_on(captures) -> dict[str, int]:
    return {alias: len(capture) for alias, capture in captures.items()}


replica_db = pytest.mark.django_db(transaction=True, databases=BOTH)
pytestmark = pytest.mark.usefixtures("with_replica")


@replica_db
def test_a_read_in_the_scope_goes_to_the_replica_and_a_write_to_the_primary(make_user):
    with queries_on(*BOTH) as captures, reading_replica():
        user = make_user("reader")  # a write (and the reads of creating a user)
    assert captures[DEFAULT_DB_ALIAS].captured_queries
    assert not captures[REPLICA].captured_queries

    with queries_on(*BOTH) as captures, reading_replica():
        read = get_user_model().objects.get(pk=user.pk)

    assert ran_on(captures) == {DEFAULT_DB_ALIAS: 0, REPLICA: 1}
    assert read.username == "reader"


@replica_db
def test_outside_the_scope_nothing_reads_the_replica(make_user):
    user = make_user("reader")

    with queries_on(*BOTH) as captures:
        get_user_model().objects.get(pk=user.pk)

    assert ran_on(captures) == {DEFAULT_DB_ALIAS: 1, REPLICA: 0}


@replica_db
def test_an_object_read_from_the_replica_is_saved_to_the_primary(make_user):
    user = make_user("reader")
    with reading_replica():
        read = get_user_model().objects.get(pk=user.pk)
        read.first_name = "Lin"

        with queries_on(*BOTH) as captures:
            read.save(update_fields=["first_name"])

    assert ran_on(captures) == {DEFAULT_DB_ALIAS: 1, REPLICA: 0}
    assert get_user_model().objects.get(pk=user.pk).first_name == "Lin"


@replica_db
def test_inside_a_transaction_the_scope_reads_the_primary_and_sees_its_own_writes(make_user):
    with transaction.atomic():
        user = make_user("fresh")
        with queries_on(*BOTH) as captures, reading_replica():
            seen = get_user_model().objects.filter(pk=user.pk).exists()

    assert seen
    assert captures[REPLICA].captured_queries == []


@replica_db
def test_locking_reads_in_the_scope_go_to_the_primary(make_user):
    user = make_user("locked")

    with reading_replica(), queries_on(*BOTH) as captures, transaction.atomic():
        get_user_model().objects.select_for_update().get(pk=user.pk)

    assert ran_on(captures)[REPLICA] == 0


@replica_db
def test_the_scope_of_one_thread_sends_no_read_of_another_to_the_replica(make_user):
    user = make_user("reader")
    entered, done = threading.Event(), threading.Event()
    seen = {}

    def other_request():
        try:
            entered.wait(10)
            with queries_on(*BOTH) as captures:
                get_user_model().objects.get(pk=user.pk)
            seen.update(ran_on(captures))
        finally:
            connections.close_all()
            done.set()

    thread = threading.Thread(target=other_request)
    thread.start()
    with reading_replica():
        entered.set()
        done.wait(10)
    thread.join(10)

    assert seen == {DEFAULT_DB_ALIAS: 1, REPLICA: 0}


@replica_db
def test_a_replica_that_has_replayed_the_moment_is_read_and_one_behind_is_not(
    make_user, monkeypatch
):
    user = make_user("reader")
    # The primary standing in for the replica is not in recovery: it has everything.
    assert replica.has_replayed_up_to(timezone.now())

    monkeypatch.setattr(replica, "has_replayed_up_to", lambda moment: False)
    with queries_on(*BOTH) as captures, reading_replica(caught_up_to=timezone.now()):
        get_user_model().objects.get(pk=user.pk)

    assert ran_on(captures) == {DEFAULT_DB_ALIAS: 1, REPLICA: 0}


@pytest.mark.django_db
def test_without_a_replica_the_scope_reads_the_primary(make_user, monkeypatch):
    monkeypatch.delitem(settings.DATABASES, REPLICA)
    user = make_user("reader")

    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as primary, reading_replica():
        get_user_model().objects.get(pk=user.pk)
        caught_up = replica.has_replayed_up_to(timezone.now() - timedelta(days=1))

    assert len(primary) == 1
    assert not caught_up


# --- the settings -----------------------------------------------------------------------


def databases_with(**environment) -> dict:
    """settings.DATABASES as config/settings.py builds it from `environment`."""
    script = (
        "import json, config.settings as s;"
        "print(json.dumps({alias: {'engine': db['ENGINE'], 'name': db['NAME'],"
        " 'pool': db.get('OPTIONS', {}).get('pool'), 'test': db.get('TEST', {})}"
        " for alias, db in s.DATABASES.items()}))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DATABASE")},
        **environment,
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_replica_url_adds_the_replica_with_the_primarys_pool_and_test_mirror():
    databases = databases_with(
        DATABASE_URL="postgres://mall@db1:5432/mall",
        DATABASE_REPLICA_URL="postgres://mall@db2:5432/mall",
        DATABASE_POOL_MAX="12",
        DATABASE_POOL_TIMEOUT="2.5",
    )

    assert set(databases) == {DEFAULT_DB_ALIAS, REPLICA}
    assert databases[REPLICA]["engine"] == databases[DEFAULT_DB_ALIAS]["engine"]
    assert databases[REPLICA]["pool"] == databases[DEFAULT_DB_ALIAS]["pool"]
    assert databases[REPLICA]["pool"] == {"min_size": 1, "max_size": 12, "timeout": 2.5}
    assert databases[REPLICA]["test"]["MIRROR"] == DEFAULT_DB_ALIAS


def test_without_a_replica_url_there_is_one_database():
    databases = databases_with(DATABASE_URL="postgres://mall@db1:5432/mall")

    assert set(databases) == {DEFAULT_DB_ALIAS}
    assert databases[DEFAULT_DB_ALIAS]["pool"]["timeout"] == 5
