"""The back office's view of notifications: what was told to whom, and how it was sent.

Everything here is written by ``notifications.services.notify`` and the senders;
staff read it (a shopper says "I got no SMS": the delivery says why).
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import Delivery, NotificationSettings, SiteMessage


class ReadFilter(admin.SimpleListFilter):
    title = _("read")
    parameter_name = "read"

    def lookups(self, request, model_admin):
        return (("yes", _("Read")), ("no", _("Unread")))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(read_at__isnull=self.value() == "no")
        return queryset


class DeliveryInline(ReadOnlyInline):
    model = Delivery
    fields = ("channel", "address", "status", "attempts", "sent_at", "reason")
    readonly_fields = fields


@admin.register(SiteMessage)
class SiteMessageAdmin(ReadOnlyAdmin):
    list_display = ("recipient", "kind", "title", "created_at", "read")
    list_filter = ("category", "kind", ReadFilter, "created_at")
    search_fields = ("=recipient__username", "recipient__email", "title", "event_key")
    list_select_related = ("recipient",)
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in SiteMessage._meta.fields]
    inlines = [DeliveryInline]

    @admin.display(description=_("read"), boolean=True, ordering="read_at")
    def read(self, obj):
        return obj.is_read


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "recipient",
        "channel",
        "address",
        "status",
        "attempts",
        "sent_at",
        "reason",
    )
    list_filter = ("channel", "status", "created_at")
    search_fields = ("address", "=message__recipient__username", "message__title")
    list_select_related = ("message__recipient",)
    date_hierarchy = "created_at"
    readonly_fields = [
        *(f.name for f in Delivery._meta.fields),
        "idempotency_key",
    ]

    @admin.display(description=_("recipient"), ordering="message__recipient__username")
    def recipient(self, obj):
        return obj.message.recipient

    @admin.display(description=_("idempotency key"))
    def idempotency_key(self, obj):
        return obj.idempotency_key


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(ReadOnlyAdmin):
    """A person's own choices: staff read them (why no email?), the person changes them."""

    list_display = (
        "user",
        "language",
        "email_orders",
        "sms_orders",
        "email_earnings",
        "sms_earnings",
        "email_team",
        "sms_team",
        "email_service",
        "sms_service",
        "updated_at",
    )
    list_filter = ("language",)
    search_fields = ("=user__username", "user__email")
    list_select_related = ("user",)
    readonly_fields = [f.name for f in NotificationSettings._meta.fields]
