"""Import and export of products and their variants (CSV, XLSX), one row per variant.

Columns: sku, name, name_en (the variant), product_slug, product_name,
product_name_en, category (slug), price, compare_at_price, is_active, stock.
A row creates or updates its product; stock is never written over: a stock
column moves the stock with ``inventory.set_stock`` (reason "import"), by the
importing user, so it leaves a movement like every other change. One bad row
and nothing is imported.
"""

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.utils.translation import gettext as _
from import_export import fields, resources, widgets

from core.money import to_cents

from . import inventory
from .cache import invalidate_everything
from .models import Category, Product, Variant

IMPORT_REASON = "import"


class MoneyWidget(widgets.DecimalWidget):
    """An amount in yuan; anything else is a clear error on its row, not a crash."""

    def clean(self, value, row=None, **kwargs):
        try:
            amount = super().clean(value, row, **kwargs)
        except (ArithmeticError, ValueError, TypeError):
            amount = None
            valid = False
        else:
            valid = amount is None or (amount.is_finite() and amount >= 0)
        if not valid:
            raise ValueError(
                _("“%(value)s” is not an amount of money, such as 299 or 299.50.")
                % {"value": value}
            )
        return amount if amount is None else to_cents(amount)


class VariantResource(resources.ModelResource):
    product = fields.Field(
        attribute="product",
        column_name="product_slug",
        widget=widgets.ForeignKeyWidget(Product, "slug"),
    )
    price = fields.Field(attribute="price", column_name="price", widget=MoneyWidget())
    compare_at_price = fields.Field(
        attribute="compare_at_price", column_name="compare_at_price", widget=MoneyWidget()
    )
    product_name = fields.Field(
        attribute="product__name", column_name="product_name", readonly=True
    )
    product_name_en = fields.Field(
        attribute="product__name_en", column_name="product_name_en", readonly=True
    )
    category = fields.Field(
        attribute="product__category__slug", column_name="category", readonly=True
    )
    # Exported as it is; imported through inventory.set_stock (see after_save_instance).
    stock = fields.Field(attribute="stock", column_name="stock", readonly=True)

    class Meta:
        model = Variant
        import_id_fields = ["sku"]
        fields = (
            "sku",
            "name",
            "name_en",
            "product",
            "product_name",
            "product_name_en",
            "category",
            "price",
            "compare_at_price",
            "is_active",
            "stock",
        )
        export_order = fields
        clean_model_instances = True
        use_transactions = True
        skip_unchanged = False

    def get_export_queryset(self, request=None, **kwargs):
        return super().get_export_queryset(request, **kwargs).select_related("product__category")

    def import_data(self, dataset, *args, **kwargs):
        # An invalid row (a price, a category) rolls back the good ones too.
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(dataset, *args, **kwargs)

    def before_import_row(self, row, **kwargs):
        """Check the product columns and the stock, then create or update the product."""
        errors = {}
        slug = _text(row, "product_slug")
        name = _text(row, "product_name")
        category_slug = _text(row, "category")
        try:
            validate_slug(slug)
        except ValidationError:
            errors["product"] = _("Give the product's slug (letters, digits, - and _).")
        if not name:
            errors["product_name"] = _("Give the product's Chinese name.")
        category = Category.objects.filter(slug=category_slug).first() if category_slug else None
        if category is None:
            errors["category"] = _("There is no category with the slug “%(slug)s”.") % {
                "slug": category_slug
            }
        stock = _text(row, "stock")
        if stock and not stock.isdigit():
            errors["stock"] = _("Stock must be a whole number, 0 or more (not “%(value)s”).") % {
                "value": stock
            }
        if errors:
            raise ValidationError(errors)
        Product.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "name_en": _text(row, "product_name_en"),
                "category": category,
            },
        )

    def after_save_instance(self, instance, row, **kwargs):
        stock = _text(row, "stock")
        if not stock:
            return
        if self._is_dry_run(kwargs) and not self._is_using_transactions(kwargs):
            return
        inventory.set_stock(instance, int(stock), actor=kwargs.get("user"), reason=IMPORT_REASON)

    def after_import(self, dataset, result, **kwargs):
        invalidate_everything()


def _text(row, column: str) -> str:
    value = row.get(column)
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():  # XLSX numbers: 12.0
        value = int(value)
    return str(value).strip()
