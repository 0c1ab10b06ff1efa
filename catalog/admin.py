from django.contrib import admin
from django.db import transaction
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from import_export.admin import ImportExportMixin
from import_export.formats.base_formats import CSV, XLSX
from mptt.admin import DraggableMPTTAdmin

from core.locks import lock_tree

from . import services
from .admin_stock import LowStockFilter, StockVariantAdminMixin
from .models import Category, Product, ProductImage, ProductSpec, Variant
from .resources import VariantResource


class CatalogChangeMixin:
    """Every save or delete in these admins makes stale the storefront's cached reads
    that show it: ``catalog_changed(objects)`` (everything, unless an admin says less)."""

    def catalog_changed(self, objects, form=None):
        services.catalog_changed()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self.catalog_changed([obj], form)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        self.catalog_changed([form.instance], form)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self.catalog_changed([obj])

    def delete_queryset(self, request, queryset):
        objects = list(queryset)
        super().delete_queryset(request, queryset)
        self.catalog_changed(objects)


@admin.register(Category)
class CategoryAdmin(CatalogChangeMixin, DraggableMPTTAdmin):
    """Drag and drop the category tree; every structural write holds the tree lock."""

    list_display = ("tree_actions", "indented_title", "slug", "is_active")
    list_display_links = ("indented_title",)
    prepopulated_fields = {"slug": ("name_en",)}
    search_fields = ("name", "name_en", "slug")

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            lock_tree("categories")
            super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        with transaction.atomic():
            lock_tree("categories")
            super().delete_model(request, obj)

    def _move_node(self, request):
        with transaction.atomic():
            lock_tree("categories")
            response = super()._move_node(request)
            services.catalog_changed()
            return response


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 1
    fields = ("name", "name_en", "sku", "price", "compare_at_price", "stock", "is_active")
    # Stock moves only through catalog.inventory (the stock admin, orders, imports).
    readonly_fields = ("stock",)


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 1
    fields = ("preview", "image", "alt_text", "position")
    readonly_fields = ("preview",)
    ordering = ("position", "pk")

    @admin.display(description=_("preview"))
    def preview(self, image):
        if not image.pk or not image.image:
            return "—"
        return format_html(
            '<img src="{}" alt="" width="64" height="64" style="object-fit:cover">',
            image.small_url,
        )


class ProductSpecInline(admin.TabularInline):
    model = ProductSpec
    extra = 1
    fields = ("name", "name_en", "value", "value_en", "position")
    ordering = ("position", "pk")


class CatalogImportExportMixin(ImportExportMixin):
    """Products and variants in and out as one row a variant (catalog.resources)."""

    resource_classes = [VariantResource]
    formats = [CSV, XLSX]

    def get_data_for_export(self, request, queryset, **kwargs):
        if queryset.model is Product:  # the products listed (filtered, or picked): their variants
            queryset = Variant.objects.filter(product__in=queryset.values("pk")).order_by(
                "product__slug", "price", "pk"
            )
        return super().get_data_for_export(request, queryset, **kwargs)


@admin.register(Product)
class ProductAdmin(CatalogChangeMixin, CatalogImportExportMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "name_en",
        "category",
        "is_active",
        "is_featured",
        "sold_count",
        "created_at",
    )
    list_filter = ("is_active", "is_featured", "category")
    list_editable = ("is_featured",)
    search_fields = ("name", "name_en", "slug", "variants__sku")
    prepopulated_fields = {"slug": ("name_en",)}
    inlines = [VariantInline, ProductImageInline, ProductSpecInline]
    autocomplete_fields = ("category",)
    list_select_related = ("category",)
    readonly_fields = ("sold_count",)
    fields = (
        "category",
        ("name", "name_en"),
        "slug",
        ("description", "description_en"),
        ("is_active", "is_featured"),
        "sold_count",
    )

    def catalog_changed(self, objects, form=None):
        """Only what shows these products (and, when the form moved one, where it was)."""
        initial = form.initial if form is not None else {}
        services.products_edited(
            [product.pk for product in objects],
            old_slugs=[initial["slug"]] if initial.get("slug") else [],
            old_category_ids=[initial["category"]] if initial.get("category") else [],
        )

    def delete_model(self, request, obj):
        services.delete_products(Product.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        services.delete_products(queryset)


@admin.register(Variant)
class VariantAdmin(
    StockVariantAdminMixin, CatalogChangeMixin, CatalogImportExportMixin, admin.ModelAdmin
):
    # Fits 1280 px beside the filters: the product and the variant share a column,
    # the typed-in prices and stock take narrow inputs (mall.css).
    list_display = (
        "sku",
        "product_and_variant",
        "price",
        "compare_at_price",
        "stock",
        "stock_links",
        "is_active",
    )
    # A stock typed in the list is a stock-take: StockVariantAdminMixin records it as an
    # adjustment through catalog.inventory (Variant.save() never writes stock).
    list_editable = ("price", "compare_at_price", "stock")
    list_filter = ("is_active", LowStockFilter, "product__category")
    search_fields = ("sku", "name", "product__name", "product__name_en")
    list_select_related = ("product",)
    autocomplete_fields = ("product",)
    readonly_fields = ("stock",)

    def catalog_changed(self, objects, form=None):
        services.products_edited({variant.product_id for variant in objects})

    @admin.display(description=_("product"), ordering="product__name")
    def product_and_variant(self, variant):
        return f"{variant.product.name} · {variant.name}"
