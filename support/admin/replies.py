"""Canned replies (快捷回复) and the service settings (opening hours, automatic answer)."""

from django.contrib import admin
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy

from core.admin import SingletonAdmin

from ..models import CannedReply, ServiceSettings
from .common import CSS
from .forms import ServiceSettingsForm


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    """The answers staff insert into a reply with one click, in the order of `position`."""

    list_display = ("title", "excerpt", "position", "is_active")
    list_display_links = ("title",)
    list_editable = ("position", "is_active")
    list_filter = ("is_active",)
    search_fields = ("title", "body")
    ordering = ("position", "pk")
    fields = ("title", "body", "position", "is_active")

    class Media:
        css = CSS

    @admin.display(description=gettext_lazy("text"))
    def excerpt(self, reply):
        return Truncator(reply.body).chars(60)


@admin.register(ServiceSettings)
class ServiceSettingsAdmin(SingletonAdmin):
    """Opening hours (days as checkboxes) and the automatic answer outside them."""

    form = ServiceSettingsForm
    fieldsets = (
        (gettext_lazy("Opening hours"), {"fields": ("open_days", "opens_at", "closes_at")}),
        (
            gettext_lazy("Automatic answer"),
            {"fields": ("away_message", "away_message_en")},
        ),
    )

    class Media:
        css = CSS
