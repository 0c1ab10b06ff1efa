"""Exports of the reports (导出): a report's rows as a CSV or an Excel file.

`export()` decides how. A report of at most EXPORT_INLINE_ROWS rows is answered at
once: a CSV streamed row by row (its BOM first, so Excel reads it as UTF-8), an
XLSX written by openpyxl in write-only mode (constant memory) to a temporary file
that the response streams and then deletes. A bigger one becomes an ExportJob
that the worker writes in chunks while the user watches its page.

How a job is written, and why every row is in the file exactly once:

  - One run of `write_chunk(job)` reads the rows [rows_done, rows_done + CHUNK_ROWS)
    of the report, with the job's filters and ``as_of`` = when the job was asked
    for, and writes them to one part file, MEDIA/exports/<token>/part-<first
    row>.jsonl: under a temporary name, then renamed into place (an atomic replace
    on one filesystem). Then it advances rows_done with a conditional update
    (only where rows_done is still that first row) and, in the same transaction,
    enqueues the next run (core.outbox: never lost).
  - A worker killed before that update leaves rows_done where it was, so the run
    delivered again (acks_late) writes the same part again and replaces the first
    attempt whole: nothing is written twice, nothing is skipped. Two deliveries
    running at once write the same rows under the same name (a fixed chunk size,
    rows in a total order, records capped at ``as_of``), and only one of them moves
    rows_done on.
  - The run that finds no rows left builds the file from the parts, in their
    order, in one step: openpyxl cannot append to a workbook, and building the CSV
    the same way keeps one path. Parts hold plain values (JSON lines; money as
    text, times in ISO form), which that step renders for the format: CSV cells
    through `excel_safe`, an XLSX with money and times as typed cells. It too
    writes under a temporary name and renames, marks the job DONE (conditional on
    it still running), and removes the parts once that committed.
  - Time: a chunk of 5,000 rows is one query and a few MB written, about a second.
    The final step turns parts into a CSV at a few hundred thousand rows/s, but openpyxl
    writes about 8,000 rows/s (without lxml): an XLSX is therefore limited to
    XLSX_MAX_ROWS (about 13 s), so every run stays far below the 60 s soft time
    limit of core.task_policy. Bigger exports are asked for as CSV.
  - Failure: an error other than a lost database connection (which RETRY_POLICY
    retries) marks the job FAILED with a short message and removes its parts.

Parts and files live under MEDIA_ROOT (the default storage's `path`): a folder
the web and the workers share, as for every uploaded file. The file is served by
`download_response` to the one who asked (or a superuser), never from /media/.
"""

import csv
import json
import logging
import os
import re
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from core import outbox
from core.admin import CSV_BOM, excel_safe
from core.errors import ServiceError
from core.replica import reading_replica

from . import definitions
from .definitions import DATE, MONEY, NUMBER, TIME, Column, Filters, Report
from .models import ExportJob

logger = logging.getLogger(__name__)

EXPORT_INLINE_ROWS = 5000  # at most this many rows: the file comes with the response
CHUNK_ROWS = 5000  # rows one task run writes
XLSX_MAX_ROWS = 100_000  # an Excel file is built in one run: at most this many rows

CONTENT_TYPES = {
    ExportJob.Format.CSV: "text/csv; charset=utf-8",
    ExportJob.Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
OPEN = (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING)


class ExportError(ServiceError):
    pass


class TooManyRowsForExcel(ExportError):
    def __init__(self, rows: int):
        self.rows = rows

    def __str__(self):
        return _(
            "An Excel file holds at most %(limit)s rows here and this report has %(rows)s: "
            "export it as CSV, or choose fewer days."
        ) % {"limit": f"{XLSX_MAX_ROWS:,}", "rows": f"{self.rows:,}"}


# --- the file's name and cells ----------------------------------------------------------


def filename(report: Report, start: date, end: date, fmt: str) -> str:
    """商品销售_2026-11-01_2026-11-30.xlsx: the report's title in the reader's language."""
    title = re.sub(r'[\\/:*?"<>|\s]+', "_", str(report.title)).strip("_")
    return f"{title}_{start.isoformat()}_{end.isoformat()}.{fmt}"


def _attachment(response: HttpResponse, name: str) -> HttpResponse:
    # RFC 6266 / 5987: filename*=utf-8''%E5%95%86... for a name that is not ASCII
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


def headers(columns: Iterable[Column]) -> list[str]:
    return [str(column.label) for column in columns]


def csv_cell(value, kind: str):
    """A cell as a spreadsheet reads it from CSV: amounts as 1299.00, local times,
    and text that cannot run as a formula."""
    if value is None:
        return ""
    if kind == MONEY:
        return f"{value:.2f}"
    if kind == TIME:
        return f"{timezone.localtime(value):%Y-%m-%d %H:%M:%S}"
    if kind == DATE:
        return value.isoformat()
    if kind == NUMBER:
        return value
    return excel_safe(value)


class _XlsxSheet:
    """One write-only worksheet with the header row; cells typed by column."""

    FORMATS = {MONEY: "#,##0.00", DATE: "yyyy-mm-dd", TIME: "yyyy-mm-dd hh:mm:ss"}
    WIDTHS = {MONEY: 14, DATE: 12, TIME: 20, NUMBER: 10}

    def __init__(self, columns: tuple[Column, ...]):
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet()
        self.kinds = [column.kind for column in columns]
        for number, column in enumerate(columns, start=1):
            width = self.WIDTHS.get(column.kind, 22)
            self.sheet.column_dimensions[get_column_letter(number)].width = width
        self.sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for label in headers(columns):
            cell = WriteOnlyCell(self.sheet, value=label)
            cell.font = bold
            header.append(cell)
        self.sheet.append(header)

    def _cell(self, value, kind):
        if value is None:
            return None
        if kind in self.FORMATS:
            if kind == TIME:
                value = timezone.localtime(value).replace(tzinfo=None)
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.number_format = self.FORMATS[kind]
            return cell
        if kind == NUMBER:
            return value
        # Text stays text: no formula (openpyxl makes "=..." one), no control characters.
        # A long digit string is kept as text by the XLSX itself (excel_safe's tab is
        # for CSV only).
        text = excel_safe(value)
        return ILLEGAL_CHARACTERS_RE.sub("", text[1:] if text.startswith("\t") else text)

    def append(self, row) -> None:
        self.sheet.append([self._cell(v, k) for v, k in zip(row, self.kinds, strict=True)])

    def save(self, target) -> None:
        self.workbook.save(target)


class _Echo:
    """A file that hands back what is written to it: csv.writer then yields lines."""

    def write(self, value):
        return value


def _csv_lines(columns: tuple[Column, ...], rows: Iterable[tuple]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    kinds = [column.kind for column in columns]
    yield CSV_BOM + writer.writerow(headers(columns))
    for row in rows:
        yield writer.writerow([csv_cell(v, k) for v, k in zip(row, kinds, strict=True)])


def _write_file(fmt: str, columns: tuple[Column, ...], rows: Iterable[tuple], target) -> None:
    """Write the whole file to `target` (a binary file open for writing)."""
    if fmt == ExportJob.Format.XLSX:
        sheet = _XlsxSheet(columns)
        for row in rows:
            sheet.append(row)
        sheet.save(target)
        return
    for line in _csv_lines(columns, rows):
        target.write(line.encode("utf-8"))


# --- asking for an export -----------------------------------------------------------


def export(report: Report, form, filters: Filters, *, fmt: str, user) -> HttpResponse | ExportJob:
    """The export of `report` with `filters` (`form`: the valid filter form they came
    from) as `fmt`: the file itself when it is small, else the job that writes it
    (queued once the current transaction commits). Raises TooManyRowsForExcel.
    The rows are counted, and a small file's rows read, from the replica when
    there is one; the job is written to (and first read from) the primary."""
    with reading_replica():
        rows = report.count(filters)
        if rows <= EXPORT_INLINE_ROWS:
            return inline_response(report, filters, fmt)
    if fmt == ExportJob.Format.XLSX and rows > XLSX_MAX_ROWS:
        raise TooManyRowsForExcel(rows)
    return start_job(report, form.typed(), fmt=fmt, user=user, rows_total=rows)


def inline_response(report: Report, filters: Filters, fmt: str) -> HttpResponse:
    """The file in the response: a streamed CSV, or an XLSX from a temporary file."""
    columns = report.get_columns(filters)
    name = filename(report, filters.start, filters.end, fmt)
    if fmt == ExportJob.Format.XLSX:
        target = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it
        _write_file(fmt, columns, report.rows(filters), target)
        target.seek(0)
        return FileResponse(
            target, as_attachment=True, filename=name, content_type=CONTENT_TYPES[fmt]
        )
    lines = _csv_lines(columns, report.rows(filters))
    response = StreamingHttpResponse(lines, content_type=CONTENT_TYPES[fmt])
    return _attachment(response, name)


@transaction.atomic
def start_job(report: Report, params: dict, *, fmt: str, user, rows_total: int) -> ExportJob:
    """A queued export job of `report` for `user`; its first chunk is enqueued with
    the job's own transaction, so the job is never left without a run."""
    from .tasks import write_export_chunk

    job = ExportJob.objects.create(
        report=report.slug, params=params, format=fmt, requested_by=user, rows_total=rows_total
    )
    outbox.enqueue(write_export_chunk, job.pk)
    return job


# --- writing a job, chunk by chunk --------------------------------------------------


def folder(job: ExportJob) -> Path:
    return Path(default_storage.path(f"exports/{job.token.hex}"))


def part_path(job: ExportJob, first_row: int) -> Path:
    return folder(job) / f"part-{first_row:010d}.jsonl"


def _encode(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _decoder(kind: str):
    if kind == MONEY:
        return Decimal
    if kind == TIME:
        return datetime.fromisoformat
    if kind == DATE:
        return date.fromisoformat
    return None


def _replace_atomically(path: Path, write) -> None:
    """Call write(file) on a temporary file beside `path`, then rename it to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _write_part(job: ExportJob, report: Report, filters: Filters, first_row: int) -> int:
    """Rows from `first_row` into their part file (replacing an earlier attempt);
    returns how many (0: no file, the report has no more rows)."""
    count = 0

    def write(out):
        nonlocal count
        for row in report.rows(filters, offset=first_row, limit=CHUNK_ROWS):
            line = json.dumps([_encode(value) for value in row], ensure_ascii=False)
            out.write(line.encode("utf-8") + b"\n")
            count += 1

    path = part_path(job, first_row)
    _replace_atomically(path, write)
    if not count:
        path.unlink(missing_ok=True)
    return count


def _rows_from_parts(job: ExportJob, columns: tuple[Column, ...]) -> Iterator[tuple]:
    """The rows of the parts, in order: part 0, then the part starting where it ended…"""
    decoders = [_decoder(column.kind) for column in columns]
    position = 0
    while position < job.rows_done:
        path = part_path(job, position)
        if not path.exists():
            raise ExportError(_("A part of the export is missing; ask for it again."))
        before = position
        with open(path, encoding="utf-8") as part:
            for line in part:
                values = json.loads(line)
                yield tuple(
                    value if value is None or decode is None else decode(value)
                    for value, decode in zip(values, decoders, strict=True)
                )
                position += 1
        if position == before:
            raise ExportError(_("A part of the export is empty; ask for it again."))


def _remove_parts(job: ExportJob, *, keep: str | None = None) -> None:
    base = folder(job)
    if not base.is_dir():
        return
    for path in base.iterdir():
        if path.name != keep and (path.suffix in (".jsonl", ".tmp")):
            path.unlink(missing_ok=True)


def write_chunk(job_id: int) -> str:
    """One run of an export job: the next chunk of rows, or the file once they are all
    written. Safe to run again or twice at once (see the module's docstring);
    returns what it did ("chunk", "done", "failed", "skipped")."""
    job = ExportJob.objects.filter(pk=job_id).first()
    if job is None or job.status not in OPEN:
        return "skipped"
    try:
        report = definitions.get(job.report)
        _form, filters = report.parse(job.params, as_of=job.created_at)
        if filters is None:
            raise ExportError(_("The export's filters are not valid any more."))
        if job.status == ExportJob.Status.QUEUED:
            ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.QUEUED).update(
                status=ExportJob.Status.RUNNING
            )
        first_row = job.rows_done
        # Every chunk reads rows as of the job's creation: from the replica only if
        # it has them all, so no chunk misses a row another chunk counted on.
        with reading_replica(caught_up_to=job.created_at):
            written = _write_part(job, report, filters, first_row)
        if written:
            _advance(job, first_row, written)
            return "chunk"
        return _finish(job, report, filters)
    except (OperationalError, InterfaceError):
        raise  # the database went away: the task's retry policy runs it again
    except Exception as exc:  # noqa: BLE001 - whatever stopped it, the job says so
        fail(job, exc)
        return "failed"


@transaction.atomic
def _advance(job: ExportJob, first_row: int, written: int) -> None:
    from .tasks import write_export_chunk

    rows_done = first_row + written
    advanced = ExportJob.objects.filter(pk=job.pk, status__in=OPEN, rows_done=first_row).update(
        status=ExportJob.Status.RUNNING,
        rows_done=rows_done,
        rows_total=max(job.rows_total or 0, rows_done),
    )
    if advanced:  # else another delivery of this run got there first and went on
        outbox.enqueue(write_export_chunk, job.pk)


def _finish(job: ExportJob, report: Report, filters: Filters) -> str:
    columns = report.get_columns(filters)
    name = f"exports/{job.token.hex}/export.{job.format}"
    _replace_atomically(
        Path(default_storage.path(name)),
        lambda out: _write_file(job.format, columns, _rows_from_parts(job, columns), out),
    )
    with transaction.atomic():
        finished = ExportJob.objects.filter(
            pk=job.pk, status__in=OPEN, rows_done=job.rows_done
        ).update(
            status=ExportJob.Status.DONE,
            file=name,
            rows_total=job.rows_done,
            finished_at=timezone.now(),
            error="",
        )
        if finished:
            transaction.on_commit(lambda: _remove_parts(job, keep=Path(name).name))
    return "done"


def fail(job: ExportJob, exc: Exception) -> None:
    """Mark `job` FAILED with a short message (unless it is done) and remove its parts."""
    logger.exception("export %s (%s) failed", job.token, job.report)
    if isinstance(exc, ServiceError):
        message = str(exc)
    else:
        message = _("The export stopped: %(error)s") % {"error": type(exc).__name__}
    ExportJob.objects.filter(pk=job.pk, status__in=OPEN).update(
        status=ExportJob.Status.FAILED, error=message[:255], finished_at=timezone.now()
    )
    _remove_parts(job)


# --- reading a job ---------------------------------------------------------------------


def jobs_of(user) -> QuerySet[ExportJob]:
    """The exports `user` may see: those they asked for (a superuser: every one)."""
    jobs = ExportJob.objects.all()
    return jobs if user.is_superuser else jobs.filter(requested_by=user)


def job_of(user, token) -> ExportJob:
    """The export `token` if `user` may see it (jobs_of); else 404."""
    job = jobs_of(user).filter(token=token).first()
    if job is None:
        raise Http404("no such export")
    return job


def job_filename(job: ExportJob) -> str:
    report = definitions.get(job.report)
    start = date.fromisoformat(job.params["start"])
    end = date.fromisoformat(job.params["end"])
    return filename(report, start, end, job.format)


def download_response(job: ExportJob) -> FileResponse:
    """The finished file of `job`, named for its report and range (404 before)."""
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404("the export is not ready")
    try:
        handle = job.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("the export's file is gone") from exc
    return FileResponse(
        handle,
        as_attachment=True,
        filename=job_filename(job),
        content_type=CONTENT_TYPES[job.format],
    )
