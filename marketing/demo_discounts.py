"""Demo promotions for `seed_demo`: a time-limited discount running now on two demo
variants, and a gift for larger orders. Idempotent: what exists (by name) stays."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from catalog.cache import invalidate_everything
from catalog.models import Variant

from .models import GiftRule, TimedDiscount

SALE_NAME, SALE_NAME_EN = "限时特惠", "Flash sale"
SALE_PRICES = {"LZ52-500": "138.00", "NX-CS-750": "198.00"}  # SKU: price during the sale
SALE_DAYS = 3
GIFT_NAME, GIFT_NAME_EN = "满500元赠鉴湖五年陈", "Free Jianhu 5-year over ¥500"
GIFT_SKU, GIFT_THRESHOLD = "JH5-500", Decimal("500.00")


def seed_discounts() -> int:
    """Create the demo discount and gift rule that are missing; returns how many."""
    created = 0
    variants = Variant.objects.in_bulk([*SALE_PRICES, GIFT_SKU], field_name="sku")
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    if not TimedDiscount.objects.filter(name=SALE_NAME).exists():
        sale = TimedDiscount.objects.create(
            name=SALE_NAME,
            name_en=SALE_NAME_EN,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=SALE_DAYS),
        )
        for sku, price in SALE_PRICES.items():
            if sku in variants:
                sale.items.create(variant=variants[sku], price=Decimal(price))
        invalidate_everything()
        created += 1
    if GIFT_SKU in variants and not GiftRule.objects.filter(name=GIFT_NAME).exists():
        GiftRule.objects.create(
            name=GIFT_NAME,
            name_en=GIFT_NAME_EN,
            threshold=GIFT_THRESHOLD,
            gift=variants[GIFT_SKU],
            quantity=1,
            starts_at=now - timedelta(hours=1),
        )
        created += 1
    return created
