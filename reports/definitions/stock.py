"""Every change of stock, read from the stock movements by the time each was made."""

from django import forms
from django.db.models import Count, Sum
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from catalog.models import StockMovement

from .base import CODE, NUMBER, TIME, Column, Report, choices_with_all


class StockMovements(Report):
    slug = "stock-movements"
    title = _("Stock movements")
    description = _("Every change of stock in the range: what, how many, why and by whom.")
    permission = "catalog.view_stockmovement"
    columns = (
        Column(_("Time"), TIME),
        Column(_("SKU"), CODE),
        Column(_("Product")),
        Column(_("Kind"), CODE),
        Column(_("Quantity"), NUMBER),
        Column(_("Stock after"), NUMBER),
        Column(_("Reference"), CODE),
        Column(_("Reason")),
        Column(_("By"), CODE),
    )

    def filter_fields(self):
        return {
            "kind": forms.ChoiceField(
                choices=choices_with_all(gettext("All kinds"), StockMovement.Kind.choices),
                required=False,
                label=_("Kind"),
            ),
            "sku": forms.CharField(
                required=False,
                max_length=64,
                label=_("SKU"),
                help_text=_("The SKU or its beginning."),
            ),
        }

    def _movements(self, filters):
        movements = StockMovement.objects.filter(
            created_at__gte=filters.since, created_at__lt=filters.until
        )
        if kind := filters.get("kind"):
            movements = movements.filter(kind=kind)
        if sku := filters.get("sku"):
            movements = movements.filter(variant__sku__istartswith=sku.strip())
        return movements

    def queryset(self, filters):
        return (
            self._movements(filters)
            .select_related("variant__product", "actor")
            .only(
                "created_at",
                "variant__sku",
                "variant__name",
                "variant__name_en",
                "variant__product__name",
                "variant__product__name_en",
                "kind",
                "quantity",
                "stock_after",
                "reference",
                "reason",
                "actor__username",
            )
            .order_by("created_at", "pk")
        )

    def to_row(self, movement, filters):
        variant = movement.variant
        return (
            movement.created_at,
            variant.sku,
            f"{variant.product.display_name} {variant.display_name}",
            movement.get_kind_display(),
            movement.quantity,
            movement.stock_after,
            movement.reference,
            movement.reason,
            movement.actor.get_username() if movement.actor else gettext("system"),
        )

    def totals(self, filters):
        sums = self._movements(filters).aggregate(number=Count("pk"), net=Sum("quantity"))
        count = sums["number"]
        return (
            ngettext("Total: %(count)s movement", "Total: %(count)s movements", count)
            % {"count": count},
            None,
            None,
            None,
            sums["net"] or 0,
            None,
            None,
            None,
            None,
        )
