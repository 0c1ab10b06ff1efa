"""The report pages of the back office, mounted by MallAdminSite under /admin/reports/.

Only the reports' own slugs match (a path converter made from them), so the
model admins of this app (/admin/reports/exportjob/ …) still reach Django's
patterns after these. /admin/reports/ itself is the reports' index, which also
lists the app's records (it stands where Django's app index would be).
"""

from django.urls import path, register_converter
from django.views.decorators.http import require_POST

from . import definitions
from .admin_reports import ReportViews


class ReportSlugConverter:
    regex = "|".join(definitions.REPORTS)

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ReportSlugConverter, "report")


def patterns(site) -> list:
    views = ReportViews(site)
    admin_view = site.admin_view
    return [
        path("", admin_view(views.index), name="reports_index"),
        path("<report:slug>/", admin_view(views.report), name="report"),
        path("<report:slug>/export/", admin_view(require_POST(views.export)), name="report_export"),
        path("exports/<uuid:token>/", admin_view(views.job), name="report_export_job"),
        path(
            "exports/<uuid:token>/status/",
            admin_view(views.job_status),
            name="report_export_status",
        ),
        path(
            "exports/<uuid:token>/download/",
            admin_view(views.download),
            name="report_export_download",
        ),
    ]
