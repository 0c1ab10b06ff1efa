"""Writes of catalog data a shopper sees (prices, names, pictures), each making stale
the cached storefront reads that show it (catalog.invalidation), so the storefront
shows the change on the next request.

Stock is not written here: every stock change goes through ``catalog.inventory``.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet

from . import invalidation
from .cache import invalidate_everything
from .models import Product, ProductImage, Variant


@transaction.atomic
def set_variant_price(
    variant: Variant, *, price: Decimal, compare_at_price: Decimal | None = None
) -> Variant:
    """Change a variant's price and compare-at price (划线价).

    Raises ``ValidationError`` (and changes nothing) if the compare-at price is
    not above the price.
    """
    variant.price = price
    variant.compare_at_price = compare_at_price
    variant.full_clean()
    variant.save(update_fields=["price", "compare_at_price"])
    invalidation.products_changed([variant.product_id], edited=False)
    return variant


def products_edited(product_ids, *, old_slugs=(), old_category_ids=()) -> None:
    """A back-office edit of products or of their variants, images or specs was saved
    (``old_slugs``, ``old_category_ids``: where an edit moved a product from)."""
    invalidation.products_changed(
        product_ids, old_slugs=old_slugs, old_category_ids=old_category_ids
    )


def catalog_changed() -> None:
    """A back-office edit of categories (names, the tree) was saved: it shows on every
    page of the products under them, so every cached read is made stale."""
    invalidate_everything()


@transaction.atomic
def delete_products(products: QuerySet[Product]) -> None:
    """Delete products (never sold or stocked: movements and order lines protect the
    rest) with their pictures' files, once the deletion has committed."""
    images = list(ProductImage.objects.filter(product__in=products))
    shown = list(products.values_list("pk", "slug", "category_id"))
    products.delete()
    invalidation.products_changed(
        [pk for pk, _slug, _category in shown],
        old_slugs=[slug for _pk, slug, _category in shown],
        old_category_ids=[category for _pk, _slug, category in shown],
    )
    for image in images:
        storage, names = image.image.storage, image.file_names()
        transaction.on_commit(
            lambda storage=storage, names=names: [storage.delete(n) for n in names]
        )
