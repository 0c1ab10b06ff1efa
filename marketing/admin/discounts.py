"""Admin of marketing: time-limited discounts (限时折扣) and gift rules (满赠).

Saving or deleting a discount moves the catalog version (the storefront shows
its prices: marketing.discounts); a gift rule is read at checkout only. Both
lists export as CSV, with the filters and search applied.
"""

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from import_export import fields, resources
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV

from catalog.cache import invalidate_everything
from core.admin import cny_column
from core.money import format_cny

from .. import discounts
from ..models import GiftRule, TimedDiscount, TimedDiscountItem


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


class StatusFilter(admin.SimpleListFilter):
    """Upcoming, running or ended now (by the period, active or not)."""

    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return discounts.Status.choices()

    def queryset(self, request, queryset):
        if self.value() in discounts.Status.labels:
            return discounts.in_status(queryset, self.value(), timezone.now())
        return queryset


class StatusColumnMixin:
    @admin.display(description=gettext_lazy("status"))
    def status(self, offer):
        return discounts.Status.labels[discounts.status_of(offer, timezone.now())]

    @admin.display(description=gettext_lazy("period"), ordering="starts_at")
    def period(self, offer):
        end = _local(offer.ends_at) if offer.ends_at else _("no end")
        return format_html("{} –<br>{}", _local(offer.starts_at), end)


# --- Time-limited discounts -----------------------------------------------------


class TimedDiscountItemForm(forms.ModelForm):
    class Meta:
        model = TimedDiscountItem
        fields = ("variant", "price")

    def clean(self):
        # TimedDiscountItem.clean says the same; this one names the price to stay below
        cleaned = super().clean()
        variant, price = cleaned.get("variant"), cleaned.get("price")
        if variant is not None and price is not None and price >= variant.price:
            self.add_error(
                "price",
                _("The discount price must be below the variant's price, %(price)s.")
                % {"price": format_cny(variant.price)},
            )
        return cleaned


class TimedDiscountItemInline(admin.TabularInline):
    """The variants on sale and their price; a price not below the variant's own is
    refused on its row."""

    model = TimedDiscountItem
    form = TimedDiscountItemForm
    extra = 1
    autocomplete_fields = ("variant",)
    fields = ("variant", "variant_price_cny", "price")
    # the row's variant and price are its columns: no caption repeating them above it
    template = "admin/edit_inline/tabular_records.html"
    readonly_fields = ("variant_price_cny",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant__product")

    @admin.display(description=gettext_lazy("variant's price"))
    def variant_price_cny(self, item):
        if item.variant_id is None:
            return "—"
        return format_html('<span class="money">{}</span>', format_cny(item.variant.price))


class TimedDiscountResource(resources.ModelResource):
    name = fields.Field(attribute="name", column_name=gettext_lazy("name"))
    status = fields.Field(column_name=gettext_lazy("status"))
    starts_at = fields.Field(column_name=gettext_lazy("starts"))
    ends_at = fields.Field(column_name=gettext_lazy("ends"))
    is_active = fields.Field(column_name=gettext_lazy("active"))
    item_count = fields.Field(attribute="item_count", column_name=gettext_lazy("variants"))
    items = fields.Field(column_name=gettext_lazy("prices"))

    class Meta:
        model = TimedDiscount
        fields = ("name", "status", "starts_at", "ends_at", "is_active", "item_count", "items")
        export_order = fields

    def dehydrate_status(self, discount):
        return str(discounts.Status.labels[discounts.status_of(discount, timezone.now())])

    def dehydrate_starts_at(self, discount):
        return _local(discount.starts_at)

    def dehydrate_ends_at(self, discount):
        return _local(discount.ends_at)

    def dehydrate_is_active(self, discount):
        return _("yes") if discount.is_active else _("no")

    def dehydrate_items(self, discount):
        items = discount.items.all()
        return "; ".join(f"{i.variant.sku} {i.variant.price} → {i.price}" for i in items)


@admin.register(TimedDiscount)
class TimedDiscountAdmin(StatusColumnMixin, ExportMixin, admin.ModelAdmin):
    """A discount's prices show on the storefront from its start to its end (the
    cache knows both moments); an end before the start is refused."""

    resource_classes = [TimedDiscountResource]
    formats = [CSV]
    list_display = ("name", "status", "period", "item_count", "is_active")
    list_filter = (StatusFilter, "is_active", "starts_at")
    search_fields = ("name", "name_en", "items__variant__sku", "items__variant__product__name")
    date_hierarchy = "starts_at"
    fields = ("name", "name_en", ("starts_at", "ends_at"), "is_active")
    inlines = [TimedDiscountItemInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(item_count=Count("items"))

    def get_export_queryset(self, request):
        return super().get_export_queryset(request).prefetch_related("items__variant")

    @admin.display(description=gettext_lazy("variants"), ordering="item_count")
    def item_count(self, discount):
        return discount.item_count

    # Every change a shopper could see moves the catalog version (after the commit).

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        invalidate_everything()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        invalidate_everything()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        invalidate_everything()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        invalidate_everything()


# --- Gift rules -----------------------------------------------------------------


class GiftRuleForm(forms.ModelForm):
    """Refuses a gift that could not be given: a variant not for sale, or without the
    stock for one gift. Checked when the rule is made, or its gift, quantity or
    active flag change, so a rule whose gift has run out can still be switched off."""

    class Meta:
        model = GiftRule
        fields = (
            "name",
            "name_en",
            "threshold",
            "gift",
            "quantity",
            "starts_at",
            "ends_at",
            "is_active",
        )

    def clean(self):
        cleaned = super().clean()
        gift, quantity = cleaned.get("gift"), cleaned.get("quantity")
        touched = {"gift", "quantity", "is_active"} & set(self.changed_data)
        if gift is None or not quantity or not cleaned.get("is_active"):
            return cleaned
        if self.instance.pk is not None and not touched:
            return cleaned
        if not gift.is_purchasable:
            self.add_error(
                "gift", _("This variant is not for sale, so it can never be given as a gift.")
            )
        elif gift.stock == 0:
            self.add_error(
                "gift",
                _(
                    "This variant has no stock, and a gift without stock is never given. "
                    "Receive stock for it first, or choose another gift."
                ),
            )
        elif gift.stock < quantity:
            self.add_error(
                "quantity",
                _(
                    "Only %(stock)d of the gift in stock: fewer than one gift of "
                    "%(quantity)d. Give fewer, or receive stock first."
                )
                % {"stock": gift.stock, "quantity": quantity},
            )
        return cleaned


class GiftRuleResource(resources.ModelResource):
    name = fields.Field(attribute="name", column_name=gettext_lazy("name"))
    status = fields.Field(column_name=gettext_lazy("status"))
    threshold = fields.Field(attribute="threshold", column_name=gettext_lazy("goods amount from"))
    gift_sku = fields.Field(attribute="gift__sku", column_name=gettext_lazy("gift SKU"))
    gift = fields.Field(attribute="gift", column_name=gettext_lazy("gift"))
    quantity = fields.Field(attribute="quantity", column_name=gettext_lazy("quantity"))
    gift_stock = fields.Field(attribute="gift__stock", column_name=gettext_lazy("gift stock"))
    starts_at = fields.Field(column_name=gettext_lazy("starts"))
    ends_at = fields.Field(column_name=gettext_lazy("ends"))
    is_active = fields.Field(column_name=gettext_lazy("active"))

    class Meta:
        model = GiftRule
        fields = (
            "name",
            "status",
            "threshold",
            "gift_sku",
            "gift",
            "quantity",
            "gift_stock",
            "starts_at",
            "ends_at",
            "is_active",
        )
        export_order = fields

    def dehydrate_status(self, rule):
        return str(discounts.Status.labels[discounts.status_of(rule, timezone.now())])

    def dehydrate_starts_at(self, rule):
        return _local(rule.starts_at)

    def dehydrate_ends_at(self, rule):
        return _local(rule.ends_at)

    def dehydrate_is_active(self, rule):
        return _("yes") if rule.is_active else _("no")


@admin.register(GiftRule)
class GiftRuleAdmin(StatusColumnMixin, ExportMixin, admin.ModelAdmin):
    """An order whose goods reach the threshold gets the gift at 0.00 while it is in
    stock (orders.services.place_order); the list shows what stock is left for it."""

    form = GiftRuleForm
    resource_classes = [GiftRuleResource]
    formats = [CSV]
    # Fits 1280 px beside the filters (the gift and the period in two lines); the
    # status is a filter.
    list_display = (
        "name",
        "threshold_cny",
        "gift_shown",
        "quantity",
        "gift_stock",
        "period",
        "is_active",
    )
    list_filter = (StatusFilter, "is_active")
    search_fields = ("name", "name_en", "gift__sku", "gift__product__name")
    list_select_related = ("gift__product",)
    autocomplete_fields = ("gift",)
    fields = (
        "name",
        "name_en",
        "threshold",
        ("gift", "quantity"),
        ("starts_at", "ends_at"),
        "is_active",
    )
    threshold_cny = cny_column(GiftRule, "threshold", gettext_lazy("threshold"))

    def get_export_queryset(self, request):
        return super().get_export_queryset(request).select_related("gift__product")

    @admin.display(description=gettext_lazy("gift"), ordering="gift__product__name")
    def gift_shown(self, rule):
        gift = rule.gift
        return format_html("{} · {}<br><small>{}</small>", gift.product.name, gift.name, gift.sku)

    @admin.display(description=gettext_lazy("gift stock"), ordering="gift__stock")
    def gift_stock(self, rule):
        if rule.gift.stock < rule.quantity:
            return format_html(
                "{} <strong>{}</strong>", rule.gift.stock, _("(not enough: no gift given)")
            )
        return rule.gift.stock
