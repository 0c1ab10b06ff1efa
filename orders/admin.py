from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from core.admin import (
    NoSaveButtonsMixin,
    ObjectViewsMixin,
    ReadOnlyInline,
    SingletonAdmin,
    cny_column,
    object_form_page,
    run_for_each,
)
from core.money import format_cny
from distributors.models import Distributor
from payments import services as payment_services

from . import admin_shipping, aftersale, refunds, services
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
from .tracking import TrackingError, carriers

# What the order and refund services refuse with, in words for staff.
REFUSED = (services.OrderError, payment_services.PaymentError)

# The event notes services write in English (orders.services.*_NOTE), shown in the
# reader's language. A note may start with one and go on with more ("receipt
# confirmed automatically", "after-sale 12: damaged ¥30.00"); the rest of a note (a
# tracking number, a payment reference) reads as stored.
EVENT_NOTES = {
    services.RECEIPT_NOTE: pgettext_lazy("order event", "receipt confirmed"),
    services.AUTOMATICALLY_NOTE: pgettext_lazy("order event", "automatically"),
    services.DELIVERED_NOTE: pgettext_lazy("order event", "delivered by carrier"),
    services.PAYMENT_TIMEOUT_NOTE: pgettext_lazy("order event", "payment timeout"),
    services.CANCELLED_BY_SHOPPER_NOTE: pgettext_lazy("order event", "cancelled by shopper"),
    services.CANCELLED_BY_MERCHANT_NOTE: pgettext_lazy("order event", "cancelled by merchant"),
    services.REFUNDED_BY_MERCHANT_NOTE: pgettext_lazy("order event", "refunded by merchant"),
    services.AFTER_SALE_NOTE: pgettext_lazy("order event", "after-sale"),
}


def event_note(note: str) -> str:
    """A stored event note in the reader's language (see EVENT_NOTES); a shipping
    note ("shunfeng SF100", services.ship_order) names its carrier (顺丰速运 SF100)."""
    for english in sorted(EVENT_NOTES, key=len, reverse=True):
        if note == english:
            return str(EVENT_NOTES[english])
        if note.startswith(english + " "):
            return f"{EVENT_NOTES[english]} {event_note(note[len(english) + 1 :])}"
    code, space, rest = note.partition(" ")
    if space and carriers.display_name(code) != code:
        return f"{carriers.display_name(code)} {rest}"
    return note


def status_label(value: str) -> str:
    """An order status code as its name (待付款), or nothing for no status."""
    return str(Order.Status(value).label) if value in Order.Status.values else value


def distributor_link(distributor: Distributor | None) -> str:
    """The distributor's name, linked to their page in the admin."""
    if distributor is None:
        return "-"
    return format_html(
        '<a href="{}">{}</a>',
        reverse("admin:distributors_distributor_change", args=[distributor.pk]),
        distributor.user.get_username(),
    )


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = (
        "product_name",
        "variant_name",
        "sku",
        "unit_price_cny",
        "quantity",
        "line_total_cny",
        "sale_discount_cny",
        "coupon_discount_cny",
        "paid_amount_cny",
        "is_gift",
    )
    readonly_fields = fields
    unit_price_cny = cny_column(OrderLine, "unit_price")
    line_total_cny = cny_column(OrderLine, "line_total")
    sale_discount_cny = cny_column(OrderLine, "sale_discount")
    coupon_discount_cny = cny_column(OrderLine, "coupon_discount")
    # "paid" alone reads as the time of payment (付款时间) in Chinese
    paid_amount_cny = cny_column(OrderLine, "paid_amount", gettext_lazy("Paid amount"))


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ("created_at", "from_label", "to_label", "actor", "note_shown")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("from"))
    def from_label(self, event):
        return status_label(event.from_status) or "-"

    @admin.display(description=gettext_lazy("to"))
    def to_label(self, event):
        return status_label(event.to_status)

    @admin.display(description=gettext_lazy("note"))
    def note_shown(self, event):
        return event_note(event.note) or "-"


class ServiceWrittenAdmin(ObjectViewsMixin, admin.ModelAdmin):
    """Rows written by services only: no add or delete; extra views and actions call services."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _apply(self, request, queryset, action, done_message):
        run_for_each(
            self,
            request,
            queryset.order_by("pk"),
            action,
            done_message,
            refused=REFUSED,
            level=messages.ERROR,
        )


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fields = ("carrier_name", "tracking_number", "shipped_at", "delivered_at", "tracking_link")
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
    fields = ("created_at", "kind", "reason", "amount_cny", "status", "decided_by", "decision_note")
    readonly_fields = fields
    show_change_link = True
    amount_cny = cny_column(AfterSaleRequest, "amount")


@admin.register(Order)
class OrderAdmin(NoSaveButtonsMixin, ServiceWrittenAdmin):
    """Orders are changed only through the state machine: ship, complete, cancel, refund.

    The page shows what staff act on; internals (the checkout token, the raw
    referral chain of ids) stay out of it.
    """

    # Fits 1280 px beside the menu and the filters (a short time; mall.css keeps a
    # long username to its column); paid and shipped times are on the order's page.
    list_display = ("number", "user", "status_badge", "total_cny", "distributor_name", "placed")
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
    actions = [
        "complete_orders",
        "cancel_orders",
        "refund_orders",
        admin_shipping.print_packing_slips,
    ]
    change_list_template = "admin/orders/order/change_list.html"
    fieldsets = (
        (None, {"fields": ("number", "status", "user", "created_at")}),
        (
            gettext_lazy("Amounts"),
            {
                "fields": (
                    "sale_discount_cny",
                    "coupon_discount_cny",
                    "subtotal_cny",
                    "shipping_fee_cny",
                    "total_cny",
                    "refunded_total_cny",
                )
            },
        ),
        (
            gettext_lazy("Recipient"),
            {"fields": ("recipient_name", "recipient_phone", "shipping_address", "note")},
        ),
        (
            gettext_lazy("Distribution"),
            {"fields": ("distributor_name", "referral_chain_names", "commission_plan")},
        ),
        (
            gettext_lazy("Timeline"),
            {
                "fields": (
                    "paid_at",
                    "shipped_at",
                    "carrier_name",
                    "tracking_number",
                    "delivered_at",
                    "received_at",
                    "completed_at",
                    "closed_at",
                    "language",
                )
            },
        ),
    )
    readonly_fields = [
        *(f.name for f in Order._meta.fields),
        "sale_discount_cny",
        "coupon_discount_cny",
        "subtotal_cny",
        "shipping_fee_cny",
        "total_cny",
        "refunded_total_cny",
        "distributor_name",
        "referral_chain_names",
        "carrier_name",
        "customer_link",
    ]
    change_form_template = "admin/orders/order/change_form.html"
    object_views = (("ship", "ship_view", "ship"),)

    def get_urls(self):
        # Batch shipping and packing slips (orders/admin_shipping.py) before the <pk> routes.
        return admin_shipping.urls(self) + super().get_urls()

    subtotal_cny = cny_column(Order, "subtotal")
    sale_discount_cny = cny_column(Order, "sale_discount")
    coupon_discount_cny = cny_column(Order, "coupon_discount")
    shipping_fee_cny = cny_column(Order, "shipping_fee")
    total_cny = cny_column(Order, "total")
    refunded_total_cny = cny_column(Order, "refunded_total")

    @admin.display(description=gettext_lazy("shopper"))
    def customer_link(self, order):
        """The shopper, linked to their customer page (客户, the crm app's admin)."""
        url = reverse("admin:crm_customerprofile_change", args=[order.user_id])
        return format_html('<a href="{}">{}</a>', url, order.user.get_username())

    def get_fieldsets(self, request, obj=None):
        """Staff who may read customer records reach the shopper's from the order."""
        fieldsets = super().get_fieldsets(request, obj)
        if not request.user.has_perm("crm.view_customerprofile"):
            return fieldsets
        (title, first), *rest = fieldsets
        fields = tuple("customer_link" if f == "user" else f for f in first["fields"])
        return ((title, {**first, "fields": fields}), *rest)

    @admin.display(
        description=Order._meta.get_field("created_at").verbose_name, ordering="created_at"
    )
    def placed(self, order):
        """2026-12-02 09:45: the way Chinese back offices write a time, and short."""
        return date_format(timezone.localtime(order.created_at), "Y-m-d H:i")

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def status_badge(self, order):
        """The badge the shopper sees: receipt confirmed before the carrier signed."""
        return order.badge_label

    @admin.display(description=gettext_lazy("distributor"), ordering="distributor__user__username")
    def distributor_name(self, order):
        return distributor_link(order.distributor)

    @admin.display(description=gettext_lazy("referral chain"))
    def referral_chain_names(self, order):
        """Who the order credits, nearest first, as fixed when it was placed."""
        if not order.referral_chain:
            return "-"
        found = Distributor.objects.select_related("user").in_bulk(order.referral_chain)
        return format_html_join(
            " › ",
            "{}",
            ((distributor_link(found.get(pk)),) for pk in order.referral_chain),
        )

    def ship_view(self, request, pk):
        def ship(order, data):
            services.ship_order(order, actor=request.user, **data)
            return _("Order %(number)s shipped.") % {"number": order.number}

        return object_form_page(
            self,
            request,
            pk,
            form_class=ShipForm,
            apply=ship,
            refused=services.OrderError,
            template="admin/orders/order/ship.html",
            title=lambda order: _("Ship order %(number)s") % {"number": order.number},
        )

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
                order, actor=request.user, reason=services.CANCELLED_BY_MERCHANT_NOTE
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
            lambda order: refunds.refund_order(
                order, actor=request.user, reason=services.REFUNDED_BY_MERCHANT_NOTE
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


class CarrierFilter(admin.SimpleListFilter):
    """The carriers shipped with, by name (a shipment stores Kuaidi100's code)."""

    title = gettext_lazy("carrier")
    parameter_name = "carrier"

    def lookups(self, request, model_admin):
        used = Shipment.objects.order_by("carrier").values_list("carrier", flat=True).distinct()
        return [(code, carriers.display_name(code)) for code in used]

    def queryset(self, request, queryset):
        return queryset.filter(carrier=self.value()) if self.value() else queryset


@admin.register(Shipment)
class ShipmentAdmin(ServiceWrittenAdmin):
    list_display = ("order", "carrier_name", "tracking_number", "shipped_at", "delivered_at")
    list_filter = (CarrierFilter, "shipped_at")
    search_fields = ("tracking_number", "order__number")
    list_select_related = ("order",)
    readonly_fields = (
        "order",
        "carrier_name",
        "tracking_number",
        "shipped_at",
        "delivered_at",
        "last_polled_at",
        "subscribed_at",
    )
    exclude = ("carrier",)  # shown by name (carrier_name), never edited
    inlines = [TrackingEventInline]
    actions = ["poll_now"]

    def save_formset(self, request, form, formset, change):
        for event in formset.save(commit=False):
            event.source = TrackingEvent.Source.ADMIN
            event.save()

    @admin.action(description=gettext_lazy("Ask the carrier for news now"), permissions=["change"])
    def poll_now(self, request, queryset):
        added = 0
        for shipment in queryset:  # start_tracking reads each with its order
            try:
                added += services.start_tracking(shipment)
            except TrackingError as exc:
                self.message_user(request, f"{shipment}: {exc}", messages.ERROR)
        self.message_user(request, _("%(count)d new tracking event(s).") % {"count": added})


class AfterSaleLineInline(ReadOnlyInline):
    model = AfterSaleLine
    fields = ("order_line", "quantity", "amount_cny")
    readonly_fields = fields
    amount_cny = cny_column(AfterSaleLine, "amount")


class DecideForm(forms.Form):
    """Approve (refund) or reject an after-sale request; the buttons carry the decision."""

    decision = forms.ChoiceField(
        choices=[("approve", gettext_lazy("Approve")), ("reject", gettext_lazy("Reject"))],
        widget=forms.HiddenInput,
        error_messages={
            "required": gettext_lazy("Choose to approve or to reject."),
            "invalid_choice": gettext_lazy("Choose to approve or to reject."),
        },
    )
    note = forms.CharField(
        label=gettext_lazy("Note to the shopper (required to reject)"),
        max_length=AfterSaleRequest._meta.get_field("decision_note").max_length,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    restock = forms.BooleanField(
        label=gettext_lazy("Put the goods back in stock"), required=False, initial=True
    )


@admin.register(AfterSaleRequest)
class AfterSaleRequestAdmin(NoSaveButtonsMixin, ServiceWrittenAdmin):
    """Refund requests (售后): read, then approve (refunds) or reject with a note."""

    list_display = (
        "order",
        "kind",
        "reason",
        "amount_cny",
        "status",
        "created_at",
        "decided_by",
    )
    list_filter = ("status", "kind", "reason", "created_at")
    search_fields = ("order__number", "order__user__username")
    list_select_related = ("order", "decided_by")
    fieldsets = (
        (None, {"fields": ("order", "status", "kind", "reason", "reason_text", "created_at")}),
        (
            gettext_lazy("Amounts"),
            {"fields": ("goods_amount_cny", "shipping_amount_cny", "amount_cny", "restock")},
        ),
        (
            gettext_lazy("Decision"),
            {"fields": ("decided_by", "decided_at", "decision_note")},
        ),
    )
    readonly_fields = [
        *(f.name for f in AfterSaleRequest._meta.fields),
        "goods_amount_cny",
        "shipping_amount_cny",
        "amount_cny",
    ]
    inlines = [AfterSaleLineInline]
    actions = ["approve_requests"]
    change_form_template = "admin/orders/aftersalerequest/change_form.html"
    object_views = (("decide", "decide_view", "decide"),)

    goods_amount_cny = cny_column(AfterSaleRequest, "goods_amount")
    shipping_amount_cny = cny_column(AfterSaleRequest, "shipping_amount")
    amount_cny = cny_column(AfterSaleRequest, "amount")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "decide_form": DecideForm()}
        return super().change_view(request, object_id, form_url, extra_context)

    def decide_view(self, request, pk):
        """Approve (refund through the gateway) or reject, with a note the shopper reads."""

        def decide(after_sale, data):
            if data["decision"] == "approve":
                aftersale.approve(
                    after_sale, actor=request.user, note=data["note"], restock=data["restock"]
                )
                return _("Refund of %(amount)s approved and paid back.") % {
                    "amount": format_cny(after_sale.amount)
                }
            aftersale.reject(after_sale, actor=request.user, note=data["note"])
            return _("Request rejected.")

        return object_form_page(
            self,
            request,
            pk,
            form_class=DecideForm,
            apply=decide,
            refused=REFUSED,
            template="admin/orders/aftersalerequest/decide.html",
            title=lambda after_sale: _("Decide %(request)s") % {"request": after_sale},
            queryset=AfterSaleRequest.objects.select_related("order"),
        )

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
