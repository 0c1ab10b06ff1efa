"""The back office's site: the shop's name in the header, the dashboard as its home,
and the report pages (reports.admin_urls) under /admin/reports/."""

from django.contrib import admin
from django.urls import include, path
from django.utils.functional import lazy

from core.site import shop_name

lazy_shop_name = lazy(shop_name, str)

# The app list in the order of a merchant's day: orders first, sign-in security last.
APP_ORDER = (
    "orders",
    "catalog",
    "crm",
    "distributors",
    "commissions",
    "marketing",
    "payments",
    "reports",
    "accounts",
    "auth",
    "core",
    "axes",
    "otp_totp",
)


class MallAdminSite(admin.AdminSite):
    site_header = lazy_shop_name()
    site_title = lazy_shop_name()

    def index(self, request, extra_context=None):
        """The dashboard (经营概况) above the list of apps."""
        from .dashboard_view import dashboard_context

        context = {**dashboard_context(self, request), **(extra_context or {})}
        return super().index(request, context)

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        rank = {label: number for number, label in enumerate(APP_ORDER)}
        return sorted(apps, key=lambda app: rank.get(app["app_label"], len(rank)))

    def get_urls(self):
        from . import admin_urls

        # Before Django's own: its catch-all app_list pattern would take /admin/reports/.
        return [path("reports/", include(admin_urls.patterns(self)))] + super().get_urls()
