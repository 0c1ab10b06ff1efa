from django.contrib import admin, messages
from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields, resources
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX

from core.admin import ReadOnlyAdmin, ReadOnlyInline

from . import services
from .models import (
    BillCheck,
    BillDifference,
    Payment,
    PaymentNotification,
    Refund,
    Transfer,
)


class NotificationInline(ReadOnlyInline):
    model = PaymentNotification
    fields = ("received_at", "kind", "outcome", "notification_id", "payload")
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    # The rest (gateway id, after-sale request, who, why) is on the refund's own page.
    fields = ("created_at", "amount", "status", "request_no", "failure_reason", "retried_as")
    readonly_fields = fields


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    # Fits 1280 px beside the filters; the rest is on the refund's page.
    list_display = ("payment", "amount", "status", "failure_reason", "created_at")
    list_filter = ("status", "payment__gateway")
    search_fields = (
        "request_no",
        "gateway_reference",
        "payment__reference",
        "payment__order__number",
    )
    list_select_related = ("payment", "actor")
    actions = ["retry"]

    def has_retry_permission(self, request, obj=None):
        return request.user.has_perm("payments.add_refund")

    @admin.action(
        description=gettext_lazy("Ask the gateway again for the selected failed refunds"),
        permissions=["retry"],
    )
    def retry(self, request, queryset):
        failed = queryset.filter(status=Refund.Status.FAILED, retried_as__isnull=True)
        for refund in failed.select_related("payment"):
            try:
                again = services.retry_failed_refund(refund, actor=request.user)
            except services.PaymentError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("Refund %(number)s asked again as %(again)s: %(status)s.")
                    % {
                        "number": refund.request_no,
                        "again": again.request_no,
                        "status": again.get_status_display(),
                    },
                    messages.SUCCESS,
                )


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "reference",
        "order",
        "gateway",
        "channel",
        "amount",
        "status",
        "created_at",
        "succeeded_at",
    )
    list_filter = ("status", "gateway", "channel")
    search_fields = ("reference", "gateway_trade_no", "order__number")
    list_select_related = ("order",)
    exclude = ("checkout",)
    inlines = [RefundInline, NotificationInline]


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = (
        "bill_no",
        "gateway",
        "amount",
        "name",
        "status",
        "failure_reason",
        "created_at",
    )
    list_filter = ("status", "gateway")
    search_fields = ("bill_no", "gateway_reference", "name", "account")
    exclude = ("confirmation",)


class DifferenceInline(ReadOnlyInline):
    model = BillDifference
    fields = (
        "kind",
        "line_kind",
        "reference",
        "gateway_reference",
        "our_amount",
        "gateway_amount",
    )
    readonly_fields = fields


@admin.register(BillCheck)
class BillCheckAdmin(ReadOnlyAdmin):
    list_display = (
        "day",
        "gateway",
        "gateway_lines",
        "our_lines",
        "gateway_total",
        "our_total",
        "difference_count",
        "checked_at",
    )
    list_filter = ("gateway",)
    date_hierarchy = "day"
    inlines = [DifferenceInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(difference_total=Count("differences"))

    @admin.display(description=gettext_lazy("differences"), ordering="difference_total")
    def difference_count(self, check):
        return check.difference_total


class DifferenceResource(resources.ModelResource):
    day = fields.Field(attribute="check_run__day", column_name=gettext_lazy("bill date"))
    gateway = fields.Field(attribute="check_run__gateway", column_name=gettext_lazy("gateway"))
    kind = fields.Field(attribute="get_kind_display", column_name=gettext_lazy("difference"))
    line_kind = fields.Field(attribute="get_line_kind_display", column_name=gettext_lazy("line"))
    reference = fields.Field(attribute="reference", column_name=gettext_lazy("our reference"))
    gateway_reference = fields.Field(
        attribute="gateway_reference", column_name=gettext_lazy("gateway reference")
    )
    our_amount = fields.Field(attribute="our_amount", column_name=gettext_lazy("our amount"))
    gateway_amount = fields.Field(
        attribute="gateway_amount", column_name=gettext_lazy("gateway amount")
    )

    class Meta:
        model = BillDifference
        fields = (
            "day",
            "gateway",
            "kind",
            "line_kind",
            "reference",
            "gateway_reference",
            "our_amount",
            "gateway_amount",
        )
        export_order = fields


@admin.register(BillDifference)
class BillDifferenceAdmin(ExportMixin, ReadOnlyAdmin):
    """What finance must look into: lines where a gateway's bill and ours disagree."""

    resource_classes = [DifferenceResource]
    formats = [CSV, XLSX]
    list_display = (
        "reference",
        "kind",
        "line_kind",
        "our_amount",
        "gateway_amount",
        "check_run",
    )
    list_filter = ("kind", "line_kind", "check_run__gateway", "check_run__day")
    search_fields = ("reference", "gateway_reference")
    list_select_related = ("check_run",)
