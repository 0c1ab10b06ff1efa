"""The list of exports (导出任务) in the admin: read-only, each staff member's own
(a superuser sees everyone's), with status, progress and the file's link. A row
opens the job's page (reports.admin_reports), where the progress updates live."""

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin

from . import definitions, exports
from .models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "report_title",
        "status",
        "progress_bar",
        "rows_total",
        "requested_by",
        "download",
    )
    list_display_links = None
    list_filter = ("status", "format")
    list_select_related = ("requested_by",)
    list_per_page = 50

    class Media:
        css = {"all": ["admin/css/reports.css"]}

    def _is_staff(self, request) -> bool:
        return request.user.is_active and request.user.is_staff

    # Whoever may use the admin may see the exports they asked for (and only those).
    def has_module_permission(self, request):
        return self._is_staff(request)

    def has_view_permission(self, request, obj=None):
        if not self._is_staff(request):
            return False
        return obj is None or request.user.is_superuser or obj.requested_by_id == request.user.pk

    def get_queryset(self, request):
        return exports.jobs_of(request.user)

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        if request.user.is_superuser:
            return shown
        return tuple(name for name in shown if name != "requested_by")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = get_object_or_404(self.get_queryset(request), pk=object_id)
        return HttpResponseRedirect(reverse("admin:report_export_job", args=[job.token]))

    @admin.display(description=_("report"), ordering="report")
    def report_title(self, job):
        report = definitions.REPORTS.get(job.report)
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:report_export_job", args=[job.token]),
            report.title if report else job.report,
        )

    @admin.display(description=_("progress"))
    def progress_bar(self, job):
        return format_html(
            '<progress class="export-progress" value="{}" max="100"></progress> {}%',
            job.progress,
            job.progress,
        )

    @admin.display(description=_("file"))
    def download(self, job):
        if job.status != ExportJob.Status.DONE:
            return job.error or ""
        return format_html(
            '<a href="{}">{} ({})</a>',
            reverse("admin:report_export_download", args=[job.token]),
            _("Download"),
            job.format.upper(),
        )
