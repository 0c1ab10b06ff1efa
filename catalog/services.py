"""Writes of catalog data a shopper sees (prices, names, pictures), each moving the
catalog cache version so the storefront shows the change on the next request.

Stock is not written here: every stock change goes through ``catalog.inventory``.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet

from .cache import bump_catalog_version
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
    bump_catalog_version()
    return variant


def catalog_changed() -> None:
    """A back-office edit of products, variants, categories, images or specs was saved."""
    bump_catalog_version()


@transaction.atomic
def delete_products(products: QuerySet[Product]) -> None:
    """Delete products (never sold or stocked: movements and order lines protect the
    rest) with their pictures' files, once the deletion has committed."""
    images = list(ProductImage.objects.filter(product__in=products))
    products.delete()
    for image in images:
        storage, names = image.image.storage, image.file_names()
        transaction.on_commit(
            lambda storage=storage, names=names: [storage.delete(n) for n in names]
        )
    bump_catalog_version()
