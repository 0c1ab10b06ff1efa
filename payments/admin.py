from django.contrib import admin

from core.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import Payment, PaymentNotification


class NotificationInline(ReadOnlyInline):
    model = PaymentNotification
    fields = ("received_at", "outcome", "payload")
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "reference",
        "order",
        "gateway",
        "amount",
        "status",
        "created_at",
        "succeeded_at",
    )
    list_filter = ("status", "gateway")
    search_fields = ("reference", "gateway_trade_no", "order__number")
    list_select_related = ("order",)
    inlines = [NotificationInline]
