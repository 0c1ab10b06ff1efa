"""The back office's site: the shop's name in the header, the dashboard as its home,
and the report pages (reports.admin_urls) under /admin/reports/."""

from django.contrib import admin
from django.urls import include, path
from django.utils.functional import lazy

from core.site import shop_name

lazy_shop_name = lazy(shop_name, str)


class MallAdminSite(admin.AdminSite):
    site_header = lazy_shop_name()
    site_title = lazy_shop_name()

    def index(self, request, extra_context=None):
        """The dashboard (经营概况) above the list of apps."""
        from .dashboard_view import dashboard_context

        context = {**dashboard_context(self, request), **(extra_context or {})}
        return super().index(request, context)

    def get_urls(self):
        from . import admin_urls

        # Before Django's own: its catch-all app_list pattern would take /admin/reports/.
        return [path("reports/", include(admin_urls.patterns(self)))] + super().get_urls()
