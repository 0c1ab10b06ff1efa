"""Reads of the catalog for the storefront, each in a fixed number of queries.

Listing and product reads are cached (catalog.cache) under the next price change
(``cache_scope``), the language and the request's parameters, with the versions
of what they show: they hold catalog objects only, never anything of one
visitor (cart, CSRF token); a change makes stale only the reads that show it
(catalog.invalidation) and any time-limited discount starting or ending moves
the scope, so the next read is fresh. Reads that show prices take ``now``, the
moment their prices are for, and build with it.
"""

import hashlib
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from django.conf import settings
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    SearchVectorExact,
)
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.http import Http404
from django.utils import timezone
from django.utils.translation import get_language

from marketing import discounts

from . import cache as catalog_cache
from .models import Category, Product, ProductImage, ProductSpec, Variant

T = TypeVar("T")
PAGE_SIZE = 24
RELATED_LIMIT = 4
FEATURED_LIMIT = 8
HOME_ORDER = ("-is_featured", "-created_at", "-pk")  # featured (推荐) first, then the newest

SORTS = {
    "newest": ("-created_at", "-pk"),
    "price_asc": (F("min_price").asc(nulls_last=True), "pk"),
    "price_desc": (F("min_price").desc(nulls_last=True), "pk"),
    "best": ("-sold_count", "-created_at", "-pk"),
    "relevance": (F("rank").desc(nulls_last=True), "-sold_count", "-pk"),
}


def cache_scope(now: datetime) -> tuple[str, int]:
    """What every catalog cache key starts with at ``now``, and how long an entry
    made now may live.

    The scope is the next price change (a time-limited discount starting or
    ending, marketing.discounts): once that moment passes, the scope is another
    one, so nothing cached before it is read after it, and the timeout ends there
    too, so such entries do not outstay their use.
    """
    change = discounts.next_price_change(now)
    if change is None:
        return "-", settings.CATALOG_CACHE_SECONDS
    seconds = math.ceil((change - now).total_seconds())
    epoch = change.astimezone(UTC).strftime("%Y%m%dT%H%M%S%f")
    return epoch, max(1, min(seconds, settings.CATALOG_CACHE_SECONDS))


def cached(
    key_parts: tuple,
    build: Callable[[], T],
    keep: Callable[[T], bool] | None = None,
    *,
    tags: tuple[str, ...],
    now: datetime | None = None,
) -> T:
    """``build()`` once per cache scope at ``now`` (``cache_scope``), language and
    ``key_parts``, while the ``tags`` it shows (catalog.cache) keep their versions; a
    build that shows prices shows them at that same ``now``.

    ``keep(value)`` false: the value is served but not stored (a page number past the
    last page, which the paginator clamps, must not add a key per number asked for).
    """
    scope, timeout = cache_scope(now or timezone.now())
    # Hashed: search text is free input (any length, spaces, Chinese), keys must be tame.
    digest = hashlib.sha1("\x1f".join(map(str, key_parts)).encode(), usedforsecurity=False)
    key = f"catalog:{scope}:{get_language() or ''}:{digest.hexdigest()}"
    return catalog_cache.cached(key, build, tags=tags, timeout=timeout, keep=keep)


def active_variants() -> QuerySet[Variant]:
    return Variant.objects.filter(is_active=True).order_by("price", "pk")


def cover_image() -> Subquery:
    """The file name of a product's first image, as a column: no query per card."""
    return Subquery(
        ProductImage.objects.filter(product=OuterRef("pk"))
        .order_by("position", "pk")
        .values("image")[:1]
    )


def product_cards(products: QuerySet[Product]) -> QuerySet[Product]:
    """Products annotated for a listing card: lowest price (and its compare-at
    price), total stock, number of variants and the cover image.

    Newest first, with the primary key as tie-breaker so pages never overlap.
    """
    active = Q(variants__is_active=True)
    cheapest = active_variants().filter(product=OuterRef("pk"))
    return (
        products.annotate(
            min_price=Min("variants__price", filter=active),
            compare_at_price=Subquery(cheapest.values("compare_at_price")[:1]),
            total_stock=Sum("variants__stock", filter=active),
            variant_count=Count("variants", filter=active),
            cover=cover_image(),
        )
        .select_related("category")
        .order_by("-created_at", "-pk")
    )


def root_categories() -> list[Category]:
    """Top categories, each with the cover of a product in its tree (featured first)."""
    cover = (
        ProductImage.objects.filter(
            product__category__tree_id=OuterRef("tree_id"),
            product__category__is_active=True,
            product__is_active=True,
        )
        .order_by("-product__is_featured", "-product__created_at", "position", "pk")
        .values("image")[:1]
    )
    return list(
        Category.objects.filter(is_active=True, level=0)
        .annotate(cover=Subquery(cover))
        .order_by("tree_id", "lft")
    )


def category_index(*, now: datetime | None = None) -> list[Category]:
    """Every active top category with its cover, each with ``subcategories``: the active
    categories below it, in tree order (the 分类 page). Two queries, cached."""

    def build():
        roots = root_categories()
        hidden: set[int] = set()  # inactive, or under an inactive category
        by_tree: dict[int, list[Category]] = {}
        for category in Category.objects.filter(level__gt=0).order_by("tree_id", "lft"):
            if not category.is_active or category.parent_id in hidden:
                hidden.add(category.pk)
            else:
                by_tree.setdefault(category.tree_id, []).append(category)
        for root in roots:
            root.subcategories = by_tree.get(root.tree_id, [])
        return roots

    return cached(("categories",), build, tags=(catalog_cache.CATEGORIES,), now=now)


def featured_products(limit: int = FEATURED_LIMIT) -> list[Product]:
    """Featured products (推荐) first, then the newest, to fill the home page."""
    return list(product_cards(Product.objects.visible()).order_by(*HOME_ORDER)[:limit])


def home(*, now: datetime | None = None) -> dict:
    """The home page's top categories and featured products, with their prices at ``now``."""
    now = now or timezone.now()

    def build():
        products = featured_products()
        discounts.mark_sales(cards=products, at=now)
        return {"categories": root_categories(), "products": products}

    return cached(("home",), build, tags=(catalog_cache.HOME,), now=now)


def filter_products(products: QuerySet[Product], filters: dict) -> QuerySet[Product]:
    """Apply the listing filters: price range and stock of an active variant, search, sort.

    A product matches the price range if one of its active variants (in stock,
    when asked) is priced inside it: the one the shopper would buy.
    """
    wanted = Q(product=OuterRef("pk"), is_active=True)
    if filters.get("min_price") is not None:
        wanted &= Q(price__gte=filters["min_price"])
    if filters.get("max_price") is not None:
        wanted &= Q(price__lte=filters["max_price"])
    if filters.get("in_stock"):
        wanted &= Q(stock__gt=0)
    if wanted != Q(product=OuterRef("pk"), is_active=True):
        products = products.filter(Exists(Variant.objects.filter(wanted)))
    sort = filters.get("sort") or "newest"
    if filters.get("q"):
        products = search(products, filters["q"])
    elif sort == "relevance":
        sort = "newest"
    return product_cards(products).order_by(*SORTS.get(sort, SORTS["newest"]))


# Relevance tiers of a search hit: its name (or SKU), then its category (or a category
# above it) or a spec value (香型: 酱香型), then its description only. A tier outweighs
# any full-text rank inside the one below.
NAME_TIER, CATEGORY_OR_SPEC_TIER, DESCRIPTION_TIER = 30.0, 20.0, 10.0


def search(products: QuerySet[Product], text: str) -> QuerySet[Product]:
    """Products matching ``text`` in their name, SKU, category names (the category's
    own and its ancestors': "白酒" finds the 酱香型 baijiu), spec values or description,
    annotated with ``rank``: name matches first, then category or spec, then description.

    A substring match, since Chinese has no spaces between words ("茅台" must find
    "茅台镇酱香"), plus full-text search on PostgreSQL ('simple' config: no stemming,
    any language) for several words. No joins (conditions on the row, EXISTS for the
    rest), so a product is listed once and the listing's aggregates over variants stay
    right; one query with the page.
    """
    in_name = (
        Q(name__icontains=text)
        | Q(name_en__icontains=text)
        | Exists(Variant.objects.filter(product=OuterRef("pk"), sku__iexact=text))
    )
    in_category_or_spec = Exists(
        Category.objects.filter(
            Q(name__icontains=text) | Q(name_en__icontains=text),
            tree_id=OuterRef("category__tree_id"),
            lft__lte=OuterRef("category__lft"),
            rght__gte=OuterRef("category__rght"),
        )
    ) | Exists(
        ProductSpec.objects.filter(
            Q(value__icontains=text) | Q(value_en__icontains=text), product=OuterRef("pk")
        )
    )
    in_description = Q(description__icontains=text) | Q(description_en__icontains=text)
    if connection.vendor == "postgresql":
        query = SearchQuery(text, config="simple", search_type="websearch")
        name_vector = SearchVector("name", "name_en", config="simple")
        description_vector = SearchVector("description", "description_en", config="simple")
        in_name |= SearchVectorExact(name_vector, query)
        in_description |= SearchVectorExact(description_vector, query)
        vector = SearchVector("name", "name_en", weight="A", config="simple") + SearchVector(
            "description", "description_en", weight="B", config="simple"
        )
        text_rank = SearchRank(vector, query)
    else:
        text_rank = Value(0.0, output_field=FloatField())
    tier = Case(
        When(in_name, then=Value(NAME_TIER)),
        When(in_category_or_spec, then=Value(CATEGORY_OR_SPEC_TIER)),
        default=Value(DESCRIPTION_TIER),
        output_field=FloatField(),
    )
    return products.filter(in_name | in_category_or_spec | in_description).annotate(
        rank=tier + text_rank
    )


def paginate(
    products: QuerySet[Product], number, per_page: int | None = None, *, at: datetime
) -> Page:
    """One page of product cards, read now, as a picklable page (for the cache), with
    the time-limited prices in force ``at`` (marketing.discounts.mark_sales)."""
    per_page = per_page or PAGE_SIZE
    page = Paginator(products, per_page).get_page(number)
    count = page.paginator.count
    cards = list(page.object_list)
    discounts.mark_sales(cards=cards, at=at)
    return Page(cards, page.number, Paginator(range(count), per_page))


def category_listing(slug: str, filters: dict, page_number, *, now: datetime | None = None) -> dict:
    """A category, its place in the tree and one page of its (and its sub-categories')
    products, with their prices at ``now``."""
    now = now or timezone.now()

    def build():
        category = Category.objects.filter(slug=slug, is_active=True).first()
        ancestors = list(category.get_ancestors()) if category else []
        if category is None or not all(ancestor.is_active for ancestor in ancestors):
            return {"category": None}
        subtree = category.get_descendants(include_self=True).filter(is_active=True)
        products = Product.objects.visible().filter(category__in=subtree)
        return {
            "category": category,
            "ancestors": ancestors,
            "children": list(category.get_children().filter(is_active=True)),
            "page": paginate(filter_products(products, filters), page_number, at=now),
        }

    listing = cached(
        ("category", slug, _key(filters), page_number),
        build,
        keep=lambda listing: "page" not in listing or listing["page"].number == page_number,
        tags=(catalog_cache.category_tag(slug),),
        now=now,
    )
    if listing["category"] is None:
        raise Http404
    return listing


def search_listing(filters: dict, page_number, *, now: datetime | None = None) -> Page:
    now = now or timezone.now()
    return cached(
        ("search", _key(filters), page_number),
        lambda: paginate(filter_products(Product.objects.visible(), filters), page_number, at=now),
        keep=lambda page: page.number == page_number,
        tags=(catalog_cache.SEARCH,),
        now=now,
    )


def product_page(slug: str, *, now: datetime | None = None) -> dict:
    """A product with its category path, active variants, images, specs and up to four
    related products (same category, best-selling first), with the prices at ``now``:
    each variant and related card has ``sale`` (marketing.discounts.mark_sales)."""
    now = now or timezone.now()

    def build():
        product = (
            Product.objects.visible()
            .select_related("category")
            .prefetch_related(
                Prefetch("variants", queryset=active_variants()),
                "images",
                Prefetch("specs", queryset=ProductSpec.objects.order_by("position", "pk")),
            )
            .filter(slug=slug)
            .first()
        )
        if product is None:
            return {"product": None}
        # the related products are its category's: read after the category's version
        catalog_cache.depends_on(catalog_cache.category_tag(product.category.slug))
        related = product_cards(
            Product.objects.visible().filter(category=product.category_id).exclude(pk=product.pk)
        ).order_by("-sold_count", "-created_at", "-pk")[:RELATED_LIMIT]
        variants = list(product.variants.all())
        related = list(related)
        discounts.mark_sales(variants=variants, cards=related, at=now)
        return {
            "product": product,
            "ancestors": list(product.category.get_ancestors()),
            "variants": variants,
            # the first one in stock is picked for the shopper
            "selected": next((v for v in variants if v.stock), variants[0] if variants else None),
            "images": list(product.images.all()),
            "specs": list(product.specs.all()),
            "related": related,
        }

    body = cached(("product", slug), build, tags=(catalog_cache.product_tag(slug),), now=now)
    if body["product"] is None:
        raise Http404
    return body


def _key(filters: dict) -> tuple:
    return tuple(filters.get(name) for name in ("q", "min_price", "max_price", "in_stock", "sort"))
