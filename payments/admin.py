from django.contrib import admin

from core.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import Payment, PaymentNotification, Refund


class NotificationInline(ReadOnlyInline):
    model = PaymentNotification
    fields = ("received_at", "outcome", "payload")
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = (
        "created_at",
        "amount",
        "request_no",
        "gateway_reference",
        "after_sale",
        "actor",
        "reason",
    )
    readonly_fields = fields


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("payment", "amount", "gateway_reference", "after_sale", "actor", "created_at")
    search_fields = (
        "request_no",
        "gateway_reference",
        "payment__reference",
        "payment__order__number",
    )
    list_select_related = ("payment", "actor")


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
    inlines = [RefundInline, NotificationInline]
