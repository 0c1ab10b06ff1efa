"""The dashboard, the report pages and the exports read from the replica when there is
one (DATABASE_REPLICA_URL), and show what the primary would show. The replica here is
the test database under a second alias (tests/core/test_replica.py), so each query
shows which connection ran it."""

import csv
import io

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from django.urls import reverse

from catalog import inventory
from core import replica
from core.replica import REPLICA
from orders import services as order_services
from reports import exports
from reports.definitions import Filters
from reports.models import ExportJob
from tests.core.test_replica import BOTH, queries_on, replica_of_the_primary

pytestmark = [
    pytest.mark.django_db(transaction=True, databases=BOTH),
    pytest.mark.usefixtures("with_replica"),
]

MOVEMENTS = '"catalog_stockmovement"'  # the stock-movements report's table


@pytest.fixture(scope="module")
def with_replica(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), replica_of_the_primary():
        yield


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def boss(client, django_user_model):
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-123456-long")
    client.force_login(user)
    return user


@pytest.fixture
def movements(make_variant, boss):
    """Six stock movements of one variant: the opening stock and five deliveries."""
    variant = make_variant(stock=10)
    for number in range(1, 6):
        inventory.receive(variant, number, actor=boss, reference=f"DN{number:03d}")
    return variant


@pytest.fixture
def primary_only(monkeypatch):
    """As without DATABASE_REPLICA_URL, inside the block."""

    def remove():
        monkeypatch.delitem(settings.DATABASES, REPLICA)

    return remove


def statements(capture, table: str) -> list[str]:
    return [query["sql"] for query in capture.captured_queries if table in query["sql"]]


def test_the_dashboard_reads_the_replica_and_shows_the_primarys_figures(
    client, boss, make_user, make_variant, address, primary_only
):
    # given: an order paid today
    variant = make_variant(price="100.00", stock=10)
    order = order_services.place_order(make_user("buyer"), [(variant.pk, 2)], address=address)
    order_services.mark_paid(order)
    client.get(reverse("admin:index"))  # the session's and the admin's first reads

    # when
    with queries_on(*BOTH) as captures:
        response = client.get(reverse("admin:index"), {"period": "today"})

    # then: the orders and summaries were read on the replica only
    assert statements(captures[REPLICA], '"orders_order"')
    assert statements(captures[REPLICA], '"reports_dailysummary"')
    assert not statements(captures[DEFAULT_DB_ALIAS], '"orders_order"')
    assert not statements(captures[DEFAULT_DB_ALIAS], '"reports_dailysummary"')
    cards = {card.key: card.value for card in response.context["dashboard"]["cards"]}
    assert cards["gmv"] == order.total
    # and the primary shows the same figures
    primary_only()
    again = client.get(reverse("admin:index"), {"period": "today"})
    assert {card.key: card.value for card in again.context["dashboard"]["cards"]} == cards


def test_a_report_page_reads_its_rows_on_the_replica_and_shows_the_primarys(
    client, boss, movements, primary_only
):
    url = reverse("admin:report", args=["stock-movements"])

    with queries_on(*BOTH) as captures:
        response = client.get(url)

    assert statements(captures[REPLICA], MOVEMENTS)  # the count, the page and the totals
    assert not statements(captures[DEFAULT_DB_ALIAS], MOVEMENTS)
    rows = response.context["rows"]
    assert len(rows) == 6
    primary_only()
    assert client.get(url).context["rows"] == rows


def test_a_streamed_csv_export_reads_its_rows_on_the_replica(client, boss, movements):
    default = Filters.last_days()
    period = {"start": default.start.isoformat(), "end": default.end.isoformat()}

    with queries_on(*BOTH) as captures:
        response = client.post(
            reverse("admin:report_export", args=["stock-movements"]), {**period, "format": "csv"}
        )
        # the rows are read while the response streams, after the view returned
        content = b"".join(response.streaming_content)

    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert len(rows) == 1 + 6
    assert len(statements(captures[REPLICA], MOVEMENTS)) == 2  # the count, then the rows
    assert not statements(captures[DEFAULT_DB_ALIAS], MOVEMENTS)


@pytest.mark.parametrize("caught_up", [True, False])
def test_an_export_job_reads_the_replica_only_once_it_has_the_jobs_rows(
    boss, movements, monkeypatch, caught_up
):
    # given: a job of 6 rows written 4 a run, and a replica that has (or lacks) them
    monkeypatch.setattr(exports, "CHUNK_ROWS", 4)
    monkeypatch.setattr(replica, "has_replayed_up_to", lambda moment: caught_up)
    default = Filters.last_days()
    params = {"start": default.start.isoformat(), "end": default.end.isoformat()}
    job = ExportJob.objects.create(
        report="stock-movements", params=params, format="csv", requested_by=boss, rows_total=6
    )

    # when: its runs (each enqueues the next, run at once here)
    with queries_on(*BOTH) as captures:
        exports.write_chunk(job.pk)

    # then
    job.refresh_from_db()
    assert (job.status, job.rows_done) == (ExportJob.Status.DONE, 6)
    read_on = REPLICA if caught_up else DEFAULT_DB_ALIAS
    other = DEFAULT_DB_ALIAS if caught_up else REPLICA
    assert len(statements(captures[read_on], MOVEMENTS)) == 3  # 4 rows, 2 rows, none left
    assert not statements(captures[other], MOVEMENTS)


def test_pages_outside_the_reports_read_nothing_on_the_replica(client, boss, movements):
    with queries_on(*BOTH) as captures:
        client.get(reverse("admin:catalog_stockmovement_changelist"))
        client.get(reverse("admin:orders_order_changelist"))

    assert captures[DEFAULT_DB_ALIAS].captured_queries
    assert captures[REPLICA].captured_queries == []
