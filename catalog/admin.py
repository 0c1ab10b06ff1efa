from django.contrib import admin
from django.db import transaction
from mptt.admin import DraggableMPTTAdmin

from core.locks import lock_tree

from .models import Category, Product, Variant


@admin.register(Category)
class CategoryAdmin(DraggableMPTTAdmin):
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
            return super()._move_node(request)


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 1
    fields = ("name", "name_en", "sku", "price", "stock", "is_active")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "name_en", "category", "is_active", "created_at")
    list_filter = ("is_active", "category")
    search_fields = ("name", "name_en", "slug", "variants__sku")
    prepopulated_fields = {"slug": ("name_en",)}
    inlines = [VariantInline]
    autocomplete_fields = ("category",)
    list_select_related = ("category",)


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ("sku", "product", "name", "price", "stock", "is_active")
    # Stock is changed through orders and (later) stock movements, never typed over.
    list_editable = ("price",)
    list_filter = ("is_active",)
    search_fields = ("sku", "name", "product__name", "product__name_en")
    list_select_related = ("product",)
    autocomplete_fields = ("product",)


from . import admin_stock  # noqa: E402,F401 - stock admin, extends the classes above
