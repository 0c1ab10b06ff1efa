"""The back office's site: the shop's name in the header, the dashboard as its home."""

from django.contrib import admin
from django.utils.functional import lazy

from core.site import shop_name

lazy_shop_name = lazy(shop_name, str)


class MallAdminSite(admin.AdminSite):
    site_header = lazy_shop_name()
    site_title = lazy_shop_name()

    def index(self, request, extra_context=None):
        """The dashboard (经营概况) above the list of apps."""
        from .dashboard_view import dashboard_context

        context = {**dashboard_context(request), **(extra_context or {})}
        return super().index(request, context)
