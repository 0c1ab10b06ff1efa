"""Reads of the catalog for the storefront, each in a fixed number of queries."""

from django.db.models import Min, Prefetch, QuerySet, Sum
from django.shortcuts import get_object_or_404

from .models import Category, Product, Variant


def active_variants() -> QuerySet[Variant]:
    return Variant.objects.filter(is_active=True).order_by("price", "pk")


def product_cards(products: QuerySet[Product]) -> QuerySet[Product]:
    """Products annotated for a listing card: lowest price and total stock."""
    return products.annotate(
        min_price=Min("variants__price", filter=_active_variant_q()),
        total_stock=Sum("variants__stock", filter=_active_variant_q()),
    ).select_related("category")


def _active_variant_q():
    from django.db.models import Q

    return Q(variants__is_active=True)


def root_categories() -> QuerySet[Category]:
    return Category.objects.filter(is_active=True, level=0).order_by("tree_id", "lft")


def featured_products(limit: int = 8) -> QuerySet[Product]:
    return product_cards(Product.objects.visible())[:limit]


def category_with_products(slug: str) -> tuple[Category, QuerySet[Product]]:
    """A category and the products of it and every sub-category (MPTT range)."""
    category = get_object_or_404(Category, slug=slug, is_active=True)
    subtree = category.get_descendants(include_self=True).filter(is_active=True)
    products = product_cards(Product.objects.visible().filter(category__in=subtree))
    return category, products


def product_detail(slug: str) -> Product:
    return get_object_or_404(
        Product.objects.visible()
        .select_related("category")
        .prefetch_related(Prefetch("variants", queryset=active_variants())),
        slug=slug,
    )
