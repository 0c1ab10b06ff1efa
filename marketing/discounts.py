"""Time-limited discounts (限时折扣) as the storefront shows them.

The price in force comes from `marketing.pricing.sale_prices`, the rule checkout
charges by. What the catalog caches about prices stays true only until the next
moment a discount starts or ends: `price_window` gives that moment (one query,
then cached under the catalog version), and catalog.selectors.cache_scope puts
it in every cache key and caps every timeout at it. A page cached before a
discount starts is then never read once it has started, and one cached during
it never after it ended, with no edit of the catalog in between. Editing a
discount moves the catalog version (marketing.admin.discounts).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from catalog.cache import catalog_version
from catalog.models import Variant

from .models import TimedDiscount
from .pricing import sale_prices


@dataclass(frozen=True)
class Sale:
    """A variant's time-limited price in force, below its own `list_price` (shown
    struck through: 划线价), until `ends_at`."""

    price: Decimal
    list_price: Decimal
    ends_at: datetime


@dataclass(frozen=True)
class PriceWindow:
    """A stretch of time in which no time-limited price starts or ends: from `since`
    until `until` (None: no change ahead); `running` tells whether a discount is in
    force during it."""

    since: datetime
    until: datetime | None
    running: bool

    def holds_at(self, now: datetime) -> bool:
        return self.since <= now and (self.until is None or now < self.until)


def _window_key() -> str:
    return f"catalog:{catalog_version()}:price-window"


def price_window(now: datetime) -> PriceWindow:
    """The price window `now` is in. One query; then none until the window ends or
    the catalog version moves."""
    key = _window_key()
    cached = cache.get(key)
    if cached is not None:
        window = PriceWindow(*cached)
        if window.holds_at(now):
            return window
    found = TimedDiscount.objects.filter(is_active=True, ends_at__gt=now).aggregate(
        next_start=Min("starts_at", filter=Q(starts_at__gt=now)),
        next_end=Min("ends_at"),
        running=Count("pk", filter=Q(starts_at__lte=now)),
    )
    # an upcoming discount starts before it ends: the earliest of both is the next change
    changes = [found["next_start"], found["next_end"]]
    window = PriceWindow(
        since=now,
        until=min((moment for moment in changes if moment is not None), default=None),
        running=bool(found["running"]),
    )
    # a plain tuple: what a cache holds must not depend on this class's shape
    cache.set(key, (window.since, window.until, window.running), settings.CATALOG_CACHE_SECONDS)
    return window


def next_price_change(now: datetime) -> datetime | None:
    """The next moment after `now` an active time-limited discount starts or ends
    (None: none ahead). Cached: see `price_window`."""
    return price_window(now).until


def sales_of(variants, *, at: datetime) -> dict[int, Sale]:
    """The Sale in force at `at` of each of `variants` (loaded, with their price) that
    has one. One query, none while no discount runs."""
    variants = list(variants)
    if not variants or not price_window(at).running:
        return {}
    found = sale_prices([variant.pk for variant in variants], at=at)
    return {
        variant.pk: Sale(found[variant.pk][0], variant.price, found[variant.pk][1])
        for variant in variants
        if variant.pk in found
    }


def mark_sales(*, variants=(), cards=(), at: datetime) -> None:
    """Show time-limited prices on a page: put `sale` (a Sale or None) on each of
    `variants`, and on each product card of `cards` (catalog.selectors.product_cards)
    `sale`, the Sale of its active variant cheapest at `at` if that one is on sale,
    and `on_sale`, whether any of its active variants is.

    At most two queries whatever the number of cards (their variants, then every
    sale price at once); none while no discount runs.
    """
    variants, cards = list(variants), list(cards)
    for obj in (*variants, *cards):
        obj.sale = None
    for card in cards:
        card.on_sale = False
    if not price_window(at).running or not (variants or cards):
        return
    card_variants = (
        list(
            Variant.objects.filter(product__in=[card.pk for card in cards], is_active=True)
            .only("pk", "product_id", "price")
            .order_by("pk")
        )
        if cards
        else []
    )
    sales = sales_of([*variants, *card_variants], at=at)
    for variant in variants:
        variant.sale = sales.get(variant.pk)
    by_product: dict[int, list[Variant]] = {}
    for variant in card_variants:
        by_product.setdefault(variant.product_id, []).append(variant)
    for card in cards:
        offers = [(variant, sales.get(variant.pk)) for variant in by_product.get(card.pk, [])]
        card.on_sale = any(sale is not None for _variant, sale in offers)
        if card.on_sale:
            # the price the card shows is the lowest one now; a sale wins a tie
            _variant, sale = min(
                offers,
                key=lambda offer: (
                    offer[1].price if offer[1] else offer[0].price,
                    offer[1] is None,
                    offer[0].pk,
                ),
            )
            card.sale = sale


class Status:
    """Where a time-limited discount or a gift offer is in its period, as staff read it."""

    UPCOMING = "upcoming"
    RUNNING = "running"
    ENDED = "ended"

    labels = {UPCOMING: _("Upcoming"), RUNNING: _("Running"), ENDED: _("Ended")}

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return list(cls.labels.items())


def status_of(offer, now: datetime) -> str:
    """The Status of a TimedDiscount or GiftRule (no end: it runs on) at `now`."""
    if now < offer.starts_at:
        return Status.UPCOMING
    if offer.ends_at is None or now < offer.ends_at:
        return Status.RUNNING
    return Status.ENDED


def in_status(offers: QuerySet, status: str, now: datetime) -> QuerySet:
    """The offers of `offers` (discounts or gift rules) in `status` at `now`."""
    not_ended = Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    return offers.filter(
        {
            Status.UPCOMING: Q(starts_at__gt=now),
            Status.RUNNING: Q(starts_at__lte=now) & not_ended,
            Status.ENDED: Q(ends_at__lte=now),
        }[status]
    )
