from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import ReadOnlyInline, SingletonAdmin
from payments import services as payment_services

from . import services
from .forms import ShipForm
from .models import Order, OrderEvent, OrderLine, ShippingSettings


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("product_name", "variant_name", "sku", "unit_price", "quantity", "line_total")
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ("created_at", "from_status", "to_status", "actor", "note")
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
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
    inlines = [OrderLineInline, OrderEventInline]
    actions = ["complete_orders", "cancel_orders", "refund_orders"]
    readonly_fields = [f.name for f in Order._meta.fields]
    change_form_template = "admin/orders/order/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path(
                "<int:pk>/ship/",
                self.admin_site.admin_view(self.ship_view),
                name="orders_order_ship",
            ),
            *super().get_urls(),
        ]

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

    def _apply(self, request, queryset, action, done_message):
        done = 0
        for order in queryset.order_by("pk"):
            try:
                action(order)
            except (services.OrderError, payment_services.PaymentError) as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"count": done}, messages.SUCCESS)

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


@admin.register(ShippingSettings)
class ShippingSettingsAdmin(SingletonAdmin):
    fields = ("flat_fee", "free_above", "unpaid_timeout_minutes")
