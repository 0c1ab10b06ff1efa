from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import ReadOnlyInline, SingletonAdmin
from core.money import format_cny
from payments import services as payment_services

from . import aftersale, services
from .forms import ShipForm
from .models import (
    AfterSaleLine,
    AfterSaleRequest,
    Order,
    OrderEvent,
    OrderLine,
    Shipment,
    ShippingSettings,
    TrackingEvent,
)
from .tracking import get_adapter


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("product_name", "variant_name", "sku", "unit_price", "quantity", "line_total")
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ("created_at", "from_status", "to_status", "actor", "note")
    readonly_fields = fields


class ServiceWrittenAdmin(admin.ModelAdmin):
    """Rows written by services only: no add or delete; extra views and actions call services."""

    # (route under the object, method name, url name suffix)
    object_views: tuple[tuple[str, str, str], ...] = ()

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        opts = self.model._meta
        return [
            *(
                path(
                    f"<int:pk>/{route}/",
                    self.admin_site.admin_view(getattr(self, method)),
                    name=f"{opts.app_label}_{opts.model_name}_{suffix}",
                )
                for route, method, suffix in self.object_views
            ),
            *super().get_urls(),
        ]

    def _apply(self, request, queryset, action, done_message):
        done = 0
        for obj in queryset.order_by("pk"):
            try:
                action(obj)
            except (services.OrderError, payment_services.PaymentError) as exc:
                self.message_user(request, f"{obj}: {exc}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"count": done}, messages.SUCCESS)


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fields = ("carrier", "tracking_number", "shipped_at", "delivered_at", "tracking_link")
    readonly_fields = fields
    show_change_link = True

    @admin.display(description=gettext_lazy("tracking"))
    def tracking_link(self, shipment):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:orders_shipment_change", args=[shipment.pk]),
            _("Tracking events"),
        )


class AfterSaleInline(ReadOnlyInline):
    model = AfterSaleRequest
    fields = ("created_at", "kind", "reason", "amount", "status", "decided_by", "decision_note")
    readonly_fields = fields
    show_change_link = True


@admin.register(Order)
class OrderAdmin(ServiceWrittenAdmin):
    """Orders are changed only through the state machine: ship, complete, cancel, refund."""

    list_display = ("number", "user", "status", "total", "distributor", "created_at", "paid_at")
    list_filter = ("status", "created_at")
    search_fields = (
        "number",
        "user__username",
        "recipient_name",
        "recipient_phone",
        "tracking_number",
    )
    list_select_related = ("user", "distributor__user")
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, ShipmentInline, AfterSaleInline, OrderEventInline]
    actions = ["complete_orders", "cancel_orders", "refund_orders"]
    readonly_fields = [f.name for f in Order._meta.fields]
    change_form_template = "admin/orders/order/change_form.html"
    object_views = (("ship", "ship_view", "ship"),)

    def ship_view(self, request, pk):
        if not self.has_change_permission(request):
            raise PermissionDenied
        order = get_object_or_404(Order, pk=pk)
        form = ShipForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.ship_order(order, actor=request.user, **form.cleaned_data)
            except services.OrderError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(
                    request, _("Order %(number)s shipped.") % {"number": order.number}
                )
                return redirect(reverse("admin:orders_order_change", args=[order.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "order": order,
            "form": form,
            "title": _("Ship order %(number)s") % {"number": order.number},
        }
        return TemplateResponse(request, "admin/orders/order/ship.html", context)

    @admin.action(
        description=gettext_lazy("Mark selected orders as completed"), permissions=["change"]
    )
    def complete_orders(self, request, queryset):
        self._apply(
            request,
            queryset,
            lambda order: services.complete_order(order, actor=request.user),
            _("%(count)d order(s) completed."),
        )

    @admin.action(description=gettext_lazy("Cancel selected unpaid orders"), permissions=["change"])
    def cancel_orders(self, request, queryset):
        self._apply(
            request,
            queryset,
            lambda order: services.cancel_order(
                order, actor=request.user, reason="cancelled by merchant"
            ),
            _("%(count)d order(s) cancelled."),
        )

    @admin.action(
        description=gettext_lazy("Refund selected paid orders in full"), permissions=["change"]
    )
    def refund_orders(self, request, queryset):
        self._apply(
            request,
            queryset,
            lambda order: payment_services.refund_order(
                order, actor=request.user, reason="refunded by merchant"
            ),
            _("%(count)d order(s) refunded."),
        )


class TrackingEventInline(admin.TabularInline):
    """Staff type the steps of carriers without an adapter; carriers' steps stay as they came."""

    model = TrackingEvent
    fields = ("time", "place", "description", "source")
    readonly_fields = ("source",)
    extra = 1

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Shipment)
class ShipmentAdmin(ServiceWrittenAdmin):
    list_display = ("order", "carrier", "tracking_number", "shipped_at", "delivered_at")
    list_filter = ("carrier", "shipped_at")
    search_fields = ("tracking_number", "order__number")
    list_select_related = ("order",)
    readonly_fields = (
        "order",
        "carrier",
        "tracking_number",
        "shipped_at",
        "delivered_at",
        "last_polled_at",
    )
    inlines = [TrackingEventInline]
    actions = ["poll_now"]

    def save_formset(self, request, form, formset, change):
        for event in formset.save(commit=False):
            event.source = TrackingEvent.Source.ADMIN
            event.save()

    @admin.action(description=gettext_lazy("Ask the carrier for news now"), permissions=["change"])
    def poll_now(self, request, queryset):
        added = 0
        for shipment in queryset.select_related("order"):
            adapter = get_adapter(shipment.carrier)
            if adapter is not None:
                added += services.record_tracking(
                    shipment, adapter.fetch_events(shipment), source=TrackingEvent.Source.CARRIER
                )
        self.message_user(request, _("%(count)d new tracking event(s).") % {"count": added})


class AfterSaleLineInline(ReadOnlyInline):
    model = AfterSaleLine
    fields = ("order_line", "quantity", "amount")
    readonly_fields = fields


@admin.register(AfterSaleRequest)
class AfterSaleRequestAdmin(ServiceWrittenAdmin):
    """Refund requests (售后): read, then approve (refunds) or reject with a note."""

    list_display = ("order", "kind", "reason", "amount", "status", "created_at", "decided_by")
    list_filter = ("status", "kind", "reason", "created_at")
    search_fields = ("order__number", "order__user__username")
    list_select_related = ("order", "decided_by")
    readonly_fields = [f.name for f in AfterSaleRequest._meta.fields]
    inlines = [AfterSaleLineInline]
    actions = ["approve_requests"]
    change_form_template = "admin/orders/aftersalerequest/change_form.html"
    object_views = (("decide", "decide_view", "decide"),)

    def decide_view(self, request, pk):
        """Approve (refund through the gateway) or reject, with a note the shopper reads."""
        if not self.has_change_permission(request) or request.method != "POST":
            raise PermissionDenied
        after_sale = get_object_or_404(AfterSaleRequest, pk=pk)
        note = request.POST.get("note", "")
        try:
            if request.POST.get("decision") == "approve":
                aftersale.approve(
                    after_sale,
                    actor=request.user,
                    note=note,
                    restock=request.POST.get("restock") == "on",
                )
                done = _("Refund of %(amount)s approved and paid back.")
            elif request.POST.get("decision") == "reject":
                aftersale.reject(after_sale, actor=request.user, note=note)
                done = _("Request rejected.")
            else:
                raise aftersale.AfterSaleError(_("Choose to approve or to reject."))
        except (services.OrderError, payment_services.PaymentError) as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(
                request, done % {"amount": format_cny(after_sale.amount)}, messages.SUCCESS
            )
        return redirect(reverse("admin:orders_aftersalerequest_change", args=[pk]))

    @admin.action(
        description=gettext_lazy("Approve and refund selected requests"), permissions=["change"]
    )
    def approve_requests(self, request, queryset):
        self._apply(
            request,
            queryset,
            lambda after_sale: aftersale.approve(after_sale, actor=request.user),
            _("%(count)d request(s) refunded."),
        )


@admin.register(ShippingSettings)
class ShippingSettingsAdmin(SingletonAdmin):
    fields = ("flat_fee", "free_above", "unpaid_timeout_minutes")
