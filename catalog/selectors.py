"""Reads of the catalog for the storefront, each in a fixed number of queries."""

from django.db.models import Count, Min, Prefetch, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404

from .models import Category, Product, Variant


def active_variants() -> QuerySet[Variant]:
    return Variant.objects.filter(is_active=True).order_by("price", "pk")


def product_cards(products: QuerySet[Product]) -> QuerySet[Product]:
    """Products annotated for a listing card: lowest price, total stock, variants.

    Newest first, with the primary key as tie-breaker so pages never overlap.
    """
    active = Q(variants__is_active=True)
    return (
        products.annotate(
            min_price=Min("variants__price", filter=active),
            total_stock=Sum("variants__stock", filter=active),
            variant_count=Count("variants", filter=active),
        )
        .select_related("category")
        .order_by("-created_at", "-pk")
    )


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
