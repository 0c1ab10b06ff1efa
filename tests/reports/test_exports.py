"""Exports of the reports (导出): small ones come with the response, big ones are
written by a job in chunks, every row once, also when a run is interrupted or
delivered twice; only the one who asked may fetch the file."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from catalog import inventory
from catalog.models import Product
from reports import definitions, exports
from reports.definitions import Filters
from reports.models import ExportJob

pytestmark = pytest.mark.django_db

MOVEMENTS = 23  # stock movements in the data: 1 opening stock + 22 received


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def movements(variant, admin_user):
    """23 stock movements of one variant, each with its own reference."""
    for number in range(1, MOVEMENTS):
        inventory.receive(variant, number, actor=admin_user, reference=f"DN{number:03d}")
    return variant


@pytest.fixture
def small_chunks(monkeypatch):
    """Exports above 5 rows go to a job, written 4 rows a run."""
    monkeypatch.setattr(exports, "EXPORT_INLINE_ROWS", 5)
    monkeypatch.setattr(exports, "CHUNK_ROWS", 4)


def period():
    default = Filters.last_days()
    return {"start": default.start.isoformat(), "end": default.end.isoformat()}


def post_export(client, slug, fmt, **filters):
    return client.post(
        reverse("admin:report_export", args=[slug]), {**period(), **filters, "format": fmt}
    )


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode())  # the BOM: Excel reads UTF-8
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def xlsx_rows(content: bytes) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    return [tuple(cell for cell in row) for row in sheet.iter_rows(values_only=True)]


def downloaded(response) -> bytes:
    return b"".join(response.streaming_content)


def references(rows) -> list[str]:
    """The reference column (7th) of stock movement rows below their header."""
    return [row[6] for row in rows[1:]]


EXPECTED = ["", *(f"DN{n:03d}" for n in range(1, MOVEMENTS))]  # opening stock has none


# --- small exports: in the response ---------------------------------------------------


@pytest.mark.usefixtures("english")
def test_a_small_csv_export_streams_the_rows_with_a_bom(client, admin_user, movements):
    client.force_login(admin_user)

    response = post_export(client, "stock-movements", "csv")

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = csv_rows(downloaded(response))
    assert rows[0] == [str(column.label) for column in definitions.get("stock-movements").columns]
    assert references(rows) == EXPECTED
    assert rows[2][1] == movements.sku and rows[2][4] == "1"
    start, end = period()["start"], period()["end"]
    assert response["Content-Disposition"] == (
        f'attachment; filename="Stock_movements_{start}_{end}.csv"'
    )


def test_a_small_excel_export_opens_and_holds_the_rows_typed(client, admin_user, movements):
    client.force_login(admin_user)

    response = post_export(client, "stock-movements", "xlsx")

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = xlsx_rows(downloaded(response))
    assert len(rows) == 1 + MOVEMENTS
    assert references(rows) == [None, *EXPECTED[1:]]
    first = rows[1]
    assert first[4] == 10 and first[5] == 10  # quantity and stock after, as numbers
    assert first[0].date() == timezone.localdate()  # a time cell, in the shop's time zone


def test_money_is_a_number_in_excel_and_1299_00_in_csv(client, admin_user, movements):
    from reports.models import DailySummary

    DailySummary.objects.create(day=timezone.localdate(), gmv=Decimal("1299.00"), paid_orders=2)
    client.force_login(admin_user)

    workbook = xlsx_rows(downloaded(post_export(client, "sales-by-day", "xlsx")))
    text = csv_rows(b"".join(post_export(client, "sales-by-day", "csv").streaming_content))

    assert workbook[1][4] == 1299 and workbook[1][1] == 2
    assert text[1][4] == "1299.00"


def test_cells_that_would_run_as_formulas_are_neutralised(client, admin_user, variant):
    inventory.receive(variant, 1, actor=admin_user, reference='=HYPERLINK("http://x")')
    inventory.receive(variant, 1, actor=admin_user, reference="+1-2", reason="@SUM(A1)")
    client.force_login(admin_user)

    text = csv_rows(downloaded(post_export(client, "stock-movements", "csv")))
    workbook = xlsx_rows(downloaded(post_export(client, "stock-movements", "xlsx")))

    assert references(text)[1:] == ['\'=HYPERLINK("http://x")', "'+1-2"]
    assert text[3][7] == "'@SUM(A1)"
    assert references(workbook)[1:] == ['\'=HYPERLINK("http://x")', "'+1-2"]


def test_the_file_name_is_the_reports_title_and_range_rfc_5987_encoded(
    client, admin_user, movements, monkeypatch
):
    monkeypatch.setattr(type(definitions.get("stock-movements")), "title", "库存变动")
    client.force_login(admin_user)

    response = post_export(client, "stock-movements", "xlsx")

    start, end = period()["start"], period()["end"]
    assert response["Content-Disposition"] == (
        f"attachment; filename*=utf-8''%E5%BA%93%E5%AD%98%E5%8F%98%E5%8A%A8_{start}_{end}.xlsx"
    )


# --- big exports: a job in chunks -----------------------------------------------------


@pytest.mark.usefixtures("small_chunks")
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_big_export_is_written_by_a_job_in_chunks_every_row_once(
    client, admin_user, movements, django_capture_on_commit_callbacks, monkeypatch, fmt
):
    runs = []
    write_chunk = exports.write_chunk
    monkeypatch.setattr(exports, "write_chunk", lambda pk: runs.append(write_chunk(pk)))
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_export(client, "stock-movements", fmt)

    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:report_export_job", args=[job.token])
    assert runs == ["chunk"] * 6 + ["done"]  # 23 rows, 4 a run, then the file
    assert (job.status, job.rows_done, job.rows_total, job.progress) == ("done", 23, 23, 100)
    assert job.params == {**period()}
    download = client.get(reverse("admin:report_export_download", args=[job.token]))
    content = downloaded(download)
    rows = csv_rows(content) if fmt == "csv" else xlsx_rows(content)
    expected = EXPECTED if fmt == "csv" else [None, *EXPECTED[1:]]
    assert references(rows) == expected
    # the parts are gone, the file stays
    assert [path.name for path in exports.folder(job).iterdir()] == [f"export.{fmt}"]


@pytest.mark.usefixtures("small_chunks")
def test_a_run_killed_before_it_saved_its_progress_is_written_again_not_twice(
    admin_user, movements, django_capture_on_commit_callbacks, monkeypatch
):
    report = definitions.get("stock-movements")
    job = exports.start_job(report, period(), fmt="csv", user=admin_user, rows_total=23)
    exports.write_chunk(job.pk)  # rows 0-3, committed

    class WorkerKilled(BaseException):
        pass

    def killed(*args):
        raise WorkerKilled

    advance = exports._advance
    monkeypatch.setattr(exports, "_advance", killed)
    with pytest.raises(WorkerKilled):
        exports.write_chunk(job.pk)  # rows 4-7 written to their part, never committed
    job.refresh_from_db()
    assert job.rows_done == 4 and exports.part_path(job, 4).exists()

    monkeypatch.setattr(exports, "_advance", advance)
    with django_capture_on_commit_callbacks(execute=True):
        exports.write_chunk(job.pk)  # the delivery again: rows 4-7, then on to the end

    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE
    with job.file.open("rb") as handle:
        assert references(csv_rows(handle.read())) == EXPECTED


@pytest.mark.usefixtures("small_chunks")
def test_a_chunk_delivered_twice_at_once_moves_the_job_on_once(
    admin_user, movements, django_capture_on_commit_callbacks, monkeypatch
):
    report = definitions.get("stock-movements")
    job = exports.start_job(report, period(), fmt="csv", user=admin_user, rows_total=23)
    write_part = exports._write_part
    competing = []

    def write_part_after_a_competitor(job, report, filters, first_row):
        if not competing:  # the other delivery of this run does all its work right here
            competing.append("started")
            competing.append(exports.write_chunk(job.pk))
        return write_part(job, report, filters, first_row)

    monkeypatch.setattr(exports, "_write_part", write_part_after_a_competitor)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        exports.write_chunk(job.pk)

    job.refresh_from_db()
    assert competing == ["started", "chunk"]
    # the competitor moved the job on and queued the next run; this run queued nothing more
    assert len(callbacks) == 7 and job.status == ExportJob.Status.DONE
    with job.file.open("rb") as handle:
        assert references(csv_rows(handle.read())) == EXPECTED


@pytest.mark.usefixtures("small_chunks")
def test_running_the_task_again_after_the_job_is_done_changes_nothing(
    admin_user, movements, django_capture_on_commit_callbacks
):
    from reports.tasks import write_export_chunk

    report = definitions.get("stock-movements")
    with django_capture_on_commit_callbacks(execute=True):
        job = exports.start_job(report, period(), fmt="csv", user=admin_user, rows_total=23)
    job.refresh_from_db()
    finished = job.finished_at

    assert write_export_chunk.apply(args=[job.pk]).get() == "skipped"
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.finished_at) == ("done", 23, finished)


@pytest.mark.usefixtures("small_chunks", "english")
def test_a_failed_export_says_why_and_leaves_no_parts(
    admin_user, movements, django_capture_on_commit_callbacks, monkeypatch
):
    report = definitions.get("stock-movements")
    job = exports.start_job(report, period(), fmt="csv", user=admin_user, rows_total=23)
    exports.write_chunk(job.pk)

    def broken(*args, **kwargs):
        raise ValueError("disk on fire")

    monkeypatch.setattr(type(report), "to_row", broken)
    assert exports.write_chunk(job.pk) == "failed"

    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", "The export stopped: ValueError")
    assert not list(exports.folder(job).glob("*.jsonl"))


@pytest.mark.usefixtures("english")
def test_an_excel_file_too_big_to_build_in_one_run_is_refused(
    client, admin_user, movements, monkeypatch
):
    monkeypatch.setattr(exports, "EXPORT_INLINE_ROWS", 5)
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 20)
    client.force_login(admin_user)

    response = post_export(client, "stock-movements", "xlsx", kind="received")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:report", args=["stock-movements"]))
    assert "kind=received" in response["Location"]
    assert not ExportJob.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert "An Excel file holds at most 20 rows here" in page


def test_bad_filters_show_on_the_page_and_export_nothing(client, admin_user, movements):
    client.force_login(admin_user)

    response = post_export(client, "stock-movements", "csv", start="2026-13-01")

    assert response.status_code == 200 and response.context["form"].errors["start"]
    assert not ExportJob.objects.exists()


# --- the job's page, its progress and its file -----------------------------------------


@pytest.fixture
def running_job(admin_user, movements):
    report = definitions.get("stock-movements")
    job = exports.start_job(report, period(), fmt="xlsx", user=admin_user, rows_total=23)
    ExportJob.objects.filter(pk=job.pk).update(status="running", rows_done=8)
    job.refresh_from_db()
    return job


def test_the_job_page_shows_the_progress_and_polls_its_status(client, admin_user, running_job):
    client.force_login(admin_user)
    status_url = reverse("admin:report_export_status", args=[running_job.token])

    page = client.get(reverse("admin:report_export_job", args=[running_job.token]))
    with CaptureQueriesContext(connection) as first:
        running = client.get(status_url).json()
    ExportJob.objects.filter(pk=running_job.pk).update(
        status="done", rows_done=23, file="exports/x/export.xlsx"
    )
    with CaptureQueriesContext(connection) as second:
        done = client.get(status_url).json()

    assert page.status_code == 200
    html = page.content.decode()
    assert status_url in html and 'value="34"' in html and "export-progress.js" in html
    assert (running["status"], running["progress"], running["download"]) == ("running", 34, None)
    assert (done["progress"], done["finished"]) == (100, True)
    assert done["download"] == reverse("admin:report_export_download", args=[running_job.token])
    assert len(first) == len(second) <= 3  # session, user, the job


def definitions_permissions():
    return Permission.objects.filter(codename="view_stockmovement")


def test_only_the_one_who_asked_can_see_or_download_an_export(
    client, admin_user, make_user, movements, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(exports, "EXPORT_INLINE_ROWS", 5)
    clerk = make_user("clerk", is_staff=True)
    clerk.user_permissions.add(*definitions_permissions())
    other = make_user("other", is_staff=True)
    other.user_permissions.add(*definitions_permissions())
    client.force_login(clerk)
    with django_capture_on_commit_callbacks(execute=True):
        post_export(client, "stock-movements", "csv")
    job = ExportJob.objects.get()
    urls = [
        reverse(name, args=[job.token])
        for name in ("admin:report_export_job", "admin:report_export_status")
    ]
    download = reverse("admin:report_export_download", args=[job.token])
    assert all(client.get(url).status_code == 200 for url in [*urls, download])

    client.force_login(other)
    assert [client.get(url).status_code for url in [*urls, download]] == [404, 404, 404]
    listed = client.get(reverse("admin:reports_exportjob_changelist"))
    assert listed.status_code == 200 and listed.context["cl"].result_count == 0

    client.force_login(admin_user)  # a superuser sees every export
    assert client.get(download).status_code == 200
    assert client.get(reverse("admin:reports_exportjob_changelist")).context["cl"].result_count == 1


def test_the_exports_list_links_each_job_and_its_file(
    client, admin_user, movements, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(exports, "EXPORT_INLINE_ROWS", 5)
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        post_export(client, "stock-movements", "csv")
    job = ExportJob.objects.get()

    page = client.get(reverse("admin:reports_exportjob_changelist")).content.decode()
    change = client.get(reverse("admin:reports_exportjob_change", args=[job.pk]))

    assert reverse("admin:report_export_job", args=[job.token]) in page
    assert reverse("admin:report_export_download", args=[job.token]) in page
    assert change.status_code == 302
    assert change["Location"] == reverse("admin:report_export_job", args=[job.token])


def test_a_job_reads_the_records_as_they_were_when_it_was_asked_for(
    admin_user, movements, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(exports, "CHUNK_ROWS", 10)
    report = definitions.get("stock-movements")
    job = exports.start_job(report, period(), fmt="csv", user=admin_user, rows_total=23)
    exports.write_chunk(job.pk)
    # a movement made while the job runs: in the range, after the job was asked for
    later = inventory.receive(movements, 1, actor=admin_user, reference="LATER")[0]
    assert timezone.localdate(later.created_at) == timezone.localdate() and (
        later.created_at > job.created_at
    )

    with django_capture_on_commit_callbacks(execute=True):
        exports.write_chunk(job.pk)

    job.refresh_from_db()
    with job.file.open("rb") as handle:
        assert references(csv_rows(handle.read())) == EXPECTED


def test_parts_hold_plain_values_that_read_back_the_same(admin_user, movements):
    report = definitions.get("stock-movements")
    job = exports.start_job(report, period(), fmt="csv", user=admin_user, rows_total=23)
    filters = report.parse(job.params, as_of=job.created_at)[1]

    written = exports._write_part(job, report, filters, 0)
    ExportJob.objects.filter(pk=job.pk).update(rows_done=written)
    job.refresh_from_db()

    lines = exports.part_path(job, 0).read_text(encoding="utf-8").splitlines()
    assert len(lines) == written == 23 and json.loads(lines[1])[6] == "DN001"
    assert list(exports._rows_from_parts(job, report.columns)) == list(report.rows(filters))


def test_product_names_stay_as_typed_in_the_export(client, admin_user, variant):
    Product.objects.filter(pk=variant.product_id).update(name="-茅台")
    client.force_login(admin_user)

    text = csv_rows(downloaded(post_export(client, "stock-movements", "csv")))

    assert text[1][2].startswith("'-茅台")
