"""Which cached storefront reads a catalog change makes stale (catalog.cache tags).

- A product's variants, pictures, specs or texts (an edit): its product page,
  the listings of its category and every category above it (and so the product
  pages of its category, which show it among the related products), search
  results, the home page and the category index (its covers).
- A price: the same but the category index, and the home page only if the
  product is on it.
- A sale, a release or a return: nothing, unless it changes what a page says
  of a variant's stock (``models.shown_stock``: sold out, "only N left" up to
  ``models.STOCK_SHOWN_UP_TO``, or plain "in stock" above); then the same
  pages as a price. Sold counts follow within a minute (catalog.cache).
- A category edit, an import, a discount: everything (``invalidate_everything``).

The tags are worked out once the change has committed, outside the change's
transaction (checkout holds its stock locks no longer for it), in at most three
queries (four after an edit that moved a product); if that fails, everything is
invalidated instead.
"""

import logging
import operator
from collections.abc import Iterable
from functools import reduce

from django.db import DatabaseError, transaction
from django.db.models import Q

from . import cache
from .models import Category, Product, shown_stock

logger = logging.getLogger(__name__)


def products_changed(
    product_ids: Iterable[int],
    *,
    edited: bool = True,
    old_slugs: Iterable[str] = (),
    old_category_ids: Iterable[int] = (),
) -> None:
    """Once the current transaction commits, make stale what shows these products.

    ``edited``: a back-office edit, which may change where a product shows (its
    visibility, being featured, its pictures, its category); False: only what its
    pages say of it changed (a price, the stock shown). ``old_slugs`` and
    ``old_category_ids``: where an edited product was shown before the edit (a new
    slug, another category).
    """
    product_ids, old_slugs = set(product_ids), set(old_slugs)
    old_category_ids = set(old_category_ids)
    if not product_ids:
        return

    def renew():
        try:
            tags = _showing(product_ids, edited, old_slugs, old_category_ids)
        except DatabaseError:
            logger.exception("catalog cache: could not work out what is stale; renewing all")
            tags = {cache.ALL}
        cache.renew(tags)

    transaction.on_commit(renew)


def _showing(product_ids: set[int], edited: bool, old_slugs: set[str], old_category_ids: set[int]):
    rows = list(
        Product.objects.filter(pk__in=product_ids).values_list(
            "slug", "category__tree_id", "category__lft", "category__rght"
        )
    )
    places = [(tree_id, lft, rght) for _slug, tree_id, lft, rght in rows]
    if old_category_ids:
        old = Category.objects.filter(pk__in=old_category_ids)
        places += list(old.values_list("tree_id", "lft", "rght"))
    tags = {cache.SEARCH}
    tags.update(cache.product_tag(slug) for slug in {*old_slugs, *(row[0] for row in rows)})
    if places:  # each category and every one above it: their listings show the product
        listing = reduce(
            operator.or_,
            (Q(tree_id=tree_id, lft__lte=lft, rght__gte=rght) for tree_id, lft, rght in places),
        )
        slugs = Category.objects.filter(listing).values_list("slug", flat=True)
        tags.update(cache.category_tag(slug) for slug in slugs)
    if edited:
        tags.update((cache.HOME, cache.CATEGORIES))
    elif product_ids & set(home_product_ids()):
        tags.add(cache.HOME)
    return tags


def home_product_ids() -> list[int]:
    """The products the home page shows (catalog.selectors.featured_products)."""
    from .selectors import FEATURED_LIMIT, HOME_ORDER

    return list(
        Product.objects.visible()
        .order_by(*HOME_ORDER)
        .values_list("pk", flat=True)[:FEATURED_LIMIT]
    )


def stock_shown_changed(before: dict[int, int], after: dict[int, int]) -> list[int]:
    """The variants (of ``before``'s ids) whose stock, as a page shows it, is not the same."""
    return [pk for pk in before if shown_stock(before[pk]) != shown_stock(after[pk])]
