"""The stock side of the catalog admin (库存管理).

Every stock change made in the admin goes through ``catalog.inventory`` and so
leaves a StockMovement: staff receive goods or adjust to a count on a small
page of their own; the stock number itself is read-only in every admin form.

``StockVariantAdminMixin`` is part of ``catalog.admin.VariantAdmin``; the
product admin's variant inline shows stock read-only.
"""

from django import forms
from django.contrib import admin
from django.db.models import F
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import ObjectViewsMixin, ReadOnlyAdmin, object_form_page

from . import inventory
from .models import StockMovement, Variant

MAX_RECEIVED = 1_000_000


class LowStockFilter(admin.SimpleListFilter):
    """Variants at or below their own low-stock threshold, or sold out."""

    title = gettext_lazy("stock level")
    parameter_name = "stock_level"

    def lookups(self, request, model_admin):
        return [("low", gettext_lazy("Low stock")), ("out", gettext_lazy("Out of stock"))]

    def queryset(self, request, queryset):
        if self.value() == "low":
            return queryset.filter(stock__lte=F("low_stock_threshold"))
        if self.value() == "out":
            return queryset.filter(stock=0)
        return queryset


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    """The stock ledger: read-only; movements are written by catalog.inventory only."""

    list_display = ("created_at", "variant_sku", "kind", "quantity", "stock_after", "reference")
    list_filter = ("kind", ("created_at", admin.DateFieldListFilter))
    search_fields = ("variant__sku", "reference")
    list_select_related = ("variant",)
    date_hierarchy = "created_at"
    fields = (
        "variant",
        "kind",
        "quantity",
        "stock_after",
        "reference",
        "reason",
        "actor",
        "created_at",
    )
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or request.user.has_perm(
            "catalog.view_variant"
        )

    @admin.display(description=gettext_lazy("SKU"), ordering="variant__sku")
    def variant_sku(self, movement):
        return movement.variant.sku


class ReceiveStockForm(forms.Form):
    quantity = forms.IntegerField(
        label=gettext_lazy("Quantity received"), min_value=1, max_value=MAX_RECEIVED
    )
    reference = forms.CharField(
        label=gettext_lazy("Reference"),
        max_length=64,
        required=False,
        help_text=gettext_lazy("Delivery note or purchase order number."),
    )
    reason = forms.CharField(label=gettext_lazy("Note"), max_length=200, required=False)


class AdjustStockForm(forms.Form):
    """Either the counted stock (盘点) or a signed change, and always a reason."""

    counted = forms.IntegerField(
        label=gettext_lazy("Counted stock"),
        min_value=0,
        max_value=MAX_RECEIVED,
        required=False,
        help_text=gettext_lazy("What is on the shelf now; the difference is recorded."),
    )
    delta = forms.IntegerField(
        label=gettext_lazy("Or change by (+/-)"),
        min_value=-MAX_RECEIVED,
        max_value=MAX_RECEIVED,
        required=False,
        help_text=gettext_lazy("E.g. -2 for two broken bottles."),
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200)

    def clean(self):
        cleaned = super().clean()
        counted, delta = cleaned.get("counted"), cleaned.get("delta")
        if "counted" in self.errors or "delta" in self.errors:
            return cleaned
        if (counted is None) == (delta is None):
            raise forms.ValidationError(_("Give either the counted stock or a change, not both."))
        if delta == 0:
            raise forms.ValidationError(_("A change of 0 changes nothing."))
        return cleaned


class StockVariantAdminMixin(ObjectViewsMixin):
    """Receive / adjust pages, their links in the list (``stock_links``), and a stock
    typed in the list recorded as a counted adjustment."""

    change_form_template = "admin/catalog/variant/change_form.html"
    object_views = (
        ("receive", "receive_view", "receive"),
        ("adjust", "adjust_view", "adjust"),
    )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)  # every column but stock
        if change and "stock" in form.changed_data:
            inventory.set_stock(
                obj,
                form.cleaned_data["stock"],
                actor=request.user,
                reason=_("Counted in the variant list"),
            )

    @admin.display(description=gettext_lazy("Receive / adjust"))
    def stock_links(self, variant):
        return format_html(
            '<a href="{}">{}</a><br><a href="{}">{}</a>',
            reverse("admin:catalog_variant_receive", args=[variant.pk]),
            _("Receive"),
            reverse("admin:catalog_variant_adjust", args=[variant.pk]),
            _("Adjust"),
        )

    def receive_view(self, request, pk):
        def receive(variant, data):
            inventory.receive(
                variant,
                data["quantity"],
                actor=request.user,
                reference=data["reference"],
                reason=data["reason"],
            )
            return _("Received %(count)d of %(sku)s.") % {
                "count": data["quantity"],
                "sku": variant.sku,
            }

        return self._stock_page(request, pk, ReceiveStockForm, receive, _("Receive stock"))

    def adjust_view(self, request, pk):
        def adjust(variant, data):
            actor, reason = request.user, data["reason"]
            if data["counted"] is not None:
                inventory.set_stock(variant, data["counted"], actor=actor, reason=reason)
            else:
                inventory.adjust(variant, data["delta"], actor=actor, reason=reason)
            variant.refresh_from_db(fields=["stock"])
            return _("Stock of %(sku)s is now %(stock)d.") % {
                "sku": variant.sku,
                "stock": variant.stock,
            }

        return self._stock_page(request, pk, AdjustStockForm, adjust, _("Adjust stock"))

    def _stock_page(self, request, pk, form_class, apply, title):
        """One form page that changes a variant's stock through ``apply``."""
        return object_form_page(
            self,
            request,
            pk,
            form_class=form_class,
            apply=apply,
            refused=(inventory.InsufficientStock, ValueError),
            template="admin/catalog/variant/stock_form.html",
            title=lambda variant: f"{title}: {variant.sku}",
            queryset=Variant.objects.select_related("product"),
            extra_context=lambda variant: {
                "movements": variant.movements.select_related("actor")[:10]
            },
        )
