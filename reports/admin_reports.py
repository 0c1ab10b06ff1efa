"""The report pages of the back office (报表): the index, one page per report with
its filters, table, totals and export buttons, and an export job's page, its
progress (JSON, polled by static/admin/js/export-progress.js) and its file.

The views are thin: reports.definitions reads, reports.exports writes files.
Each is wrapped by the admin site's `admin_view` (staff sign-in, the staff
second factor of accounts.middleware, which guards the admin namespace), and
each report asks for its own permission (403 without it). An export job is
seen only by the one who asked for it, or a superuser (404 for anyone else).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from core.money import format_cny
from core.replica import reading_replica

from . import definitions, exports
from .definitions import DATE, MONEY, NUMBER, TIME, Report
from .models import ExportJob


def cell_text(value, kind: str) -> str:
    """A cell as the page shows it: money as ¥1,299.00, local times, 1,234."""
    if value is None:
        return ""
    if isinstance(value, str):  # text, or the "Total" label in any column
        return value
    if kind == MONEY:
        return format_cny(value)
    if kind == TIME:
        return date_format(timezone.localtime(value), "Y-m-d H:i")
    if kind == DATE:
        return date_format(value, "Y-m-d")
    if kind == NUMBER:
        return f"{value:,}"
    return str(value)


def display_row(row, columns) -> list[tuple[str, str]]:
    """(text, css class) per cell."""
    return [
        (cell_text(value, column.kind), f"kind-{column.kind}")
        for value, column in zip(row, columns, strict=True)
    ]


def _report(slug: str) -> Report:
    try:
        return definitions.get(slug)
    except KeyError as exc:
        raise Http404("no such report") from exc


def _require_permission(request, report: Report) -> None:
    if not request.user.has_perm(report.permission):
        raise PermissionDenied


class ReportViews:
    """The views of one admin site (MallAdminSite mounts them: reports.admin_urls)."""

    def __init__(self, site):
        self.site = site

    def _context(self, request, **extra) -> dict:
        return {**self.site.each_context(request), **extra}

    def index(self, request):
        """The reports this user may read, a line each, and the app's records."""
        apps = self.site.get_app_list(request, app_label="reports")
        context = self._context(
            request,
            title=_("Reports"),
            reports=definitions.readable_by(request.user),
            records=apps[0]["models"] if apps else [],
        )
        return TemplateResponse(request, "admin/reports/reports_index.html", context)

    def report(self, request, slug):
        report = _report(slug)
        _require_permission(request, report)
        return self._render(request, report, request.GET)

    @reading_replica()
    def _render(self, request, report: Report, data):
        """The page: the form as typed; while it is not valid, its errors above the
        table of the last 30 days (nothing else changes). Its rows are read from
        the replica when there is one."""
        form, filters = report.parse(data)
        shown = filters if filters is not None else report.parse(None)[1]
        columns = report.get_columns(shown)
        page = report.page(shown, request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        context = self._context(
            request,
            title=report.title,
            report=report,
            form=form,
            media=form.media,
            filters=shown,
            columns=columns,
            rows=[display_row(row, columns) for row in page.object_list],
            totals=display_row(report.totals(shown), columns) if page.paginator.count else None,
            page=page,
            page_range=page.paginator.get_elided_page_range(page.number, on_each_side=2),
            page_query=query.urlencode(),
            # the export buttons send the filters typed (none while they are not valid)
            export_fields=list(form.typed().items()) if filters is not None else [],
            export_formats=ExportJob.Format.choices,
            inline_rows=f"{exports.EXPORT_INLINE_ROWS:,}",
        )
        return TemplateResponse(request, "admin/reports/report.html", context)

    def export(self, request, slug):
        """POST: the file at once when it is small, else a job and its page."""
        report = _report(slug)
        _require_permission(request, report)
        fmt = request.POST.get("format")
        if fmt not in ExportJob.Format.values:
            fmt = ExportJob.Format.CSV
        form, filters = report.parse(request.POST)
        if filters is None:
            return self._render(request, report, request.POST)
        try:
            result = exports.export(report, form, filters, fmt=fmt, user=request.user)
        except exports.ExportError as exc:
            messages.error(request, str(exc))
            url = reverse("admin:report", args=[report.slug])
            return HttpResponseRedirect(f"{url}?{urlencode(form.typed())}")
        if isinstance(result, ExportJob):
            return HttpResponseRedirect(reverse("admin:report_export_job", args=[result.token]))
        return result

    def job(self, request, token):
        """An export job's page: its progress until its file is ready."""
        job = exports.job_of(request.user, token)
        report = _report(job.report)
        _require_permission(request, report)
        context = self._context(
            request,
            title=_("Export: %(report)s") % {"report": report.title},
            report=report,
            job=job,
            status=job_status(job),
            filename=exports.job_filename(job),
            report_url=f"{reverse('admin:report', args=[report.slug])}?{urlencode(job.params)}",
        )
        return TemplateResponse(request, "admin/reports/export_job.html", context)

    def job_status(self, request, token):
        """The job's progress as JSON: status, rows, percent and, once done, the link."""
        job = exports.job_of(request.user, token)
        _require_permission(request, _report(job.report))
        return JsonResponse(job_status(job))

    def download(self, request, token):
        job = exports.job_of(request.user, token)
        _require_permission(request, _report(job.report))
        return exports.download_response(job)


def job_status(job: ExportJob) -> dict:
    done = job.status == ExportJob.Status.DONE
    return {
        "status": job.status,
        "label": job.get_status_display(),
        "progress": job.progress,
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "error": job.error,
        "finished": job.status not in exports.OPEN,
        "download": reverse("admin:report_export_download", args=[job.token]) if done else None,
    }
