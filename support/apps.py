from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = _("Customer service")

    def ready(self):
        from . import checks  # noqa: F401 - registers the private storage's check
