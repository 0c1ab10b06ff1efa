from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    default = True
    name = "reports"
    verbose_name = _("Reports")


class MallAdminConfig(admin_apps.AdminConfig):
    """Django's admin on the shop's own site: its name in the header and the
    dashboard (经营概况) as the home page (reports.admin_site)."""

    default = False

    default_site = "reports.admin_site.MallAdminSite"
