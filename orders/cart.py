"""The shopping cart, kept in the session.

Signing out keeps the cart on the user (``save_for``); signing in merges the
visitor's cart with it (``merge_in``): quantities add up, capped at the stock.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model

from catalog.models import Variant
from core.money import ZERO
from marketing import pricing

from .services import shipping_fee_for

SESSION_KEY = "cart"
MAX_QUANTITY = 99


@dataclass(frozen=True)
class CartItem:
    variant: Variant
    quantity: int

    @property
    def exceeds_stock(self) -> bool:
        return self.quantity > self.variant.stock


class Cart:
    def __init__(self, session):
        self.session = session
        self.lines: dict[str, int] = dict(session.get(SESSION_KEY, {}))

    def quantity_of(self, variant_id: int) -> int:
        return self.lines.get(str(variant_id), 0)

    def set(self, variant_id: int, quantity: int) -> None:
        if quantity <= 0:
            self.lines.pop(str(variant_id), None)
        else:
            self.lines[str(variant_id)] = quantity
        self._save()

    def clear(self) -> None:
        self.lines = {}
        self._save()

    def save_for(self, user) -> None:
        """Keep this cart on ``user`` for their next sign-in (one query)."""
        get_user_model().objects.filter(pk=user.pk).update(saved_cart=self.lines)

    def merge_in(self, visitor_lines: dict[str, int], user) -> bool:
        """Make this cart the sum of ``visitor_lines`` and the cart ``user`` saved.

        Each quantity is capped at the stock (and MAX_QUANTITY); lines no longer
        for sale drop out. Returns whether any quantity had to be lowered.
        """
        wanted: dict[int, int] = {}
        for lines in (visitor_lines, user.saved_cart or {}):
            for pk, qty in lines.items():
                if str(pk).isdigit() and isinstance(qty, int) and qty > 0:
                    wanted[int(pk)] = wanted.get(int(pk), 0) + qty
        if user.saved_cart:
            get_user_model().objects.filter(pk=user.pk).update(saved_cart={})
            user.saved_cart = {}
        variants = Variant.objects.select_related("product").in_bulk(wanted) if wanted else {}
        self.lines, lowered = {}, False
        for pk, qty in wanted.items():
            variant = variants.get(pk)
            if variant is None or not variant.is_purchasable:
                continue
            capped = min(qty, variant.stock, MAX_QUANTITY)
            lowered |= capped < qty
            if capped:
                self.lines[str(pk)] = capped
        self._save()
        return lowered

    def _save(self) -> None:
        self.session[SESSION_KEY] = self.lines

    def __len__(self) -> int:
        return sum(self.lines.values())

    def as_pairs(self) -> list[tuple[int, int]]:
        return [(int(pk), qty) for pk, qty in self.lines.items()]

    def items(self) -> list[CartItem]:
        """The lines with their variants (product and category, for pricing), in one
        query; vanished variants drop out."""
        if not self.lines:
            return []
        variants = Variant.objects.select_related("product__category").in_bulk(
            [int(pk) for pk in self.lines]
        )
        return [
            CartItem(variants[int(pk)], qty)
            for pk, qty in self.lines.items()
            if int(pk) in variants and variants[int(pk)].is_purchasable
        ]


@dataclass(frozen=True)
class PricedItem:
    """A cart line with its price: list price, sale price, shares of the discounts
    (the cart's totals are `price`'s, never the variants' list prices)."""

    item: CartItem
    line: pricing.PricedLine

    @property
    def has_sale_price(self) -> bool:
        return self.line.sale_discount > 0

    @property
    def sale_total(self) -> Decimal:
        """The line at its sale price (before the coupon)."""
        return self.line.line_total - self.line.sale_discount


@dataclass(frozen=True)
class PricedCart:
    """The cart as the shopper pays for it (marketing.pricing's quote): its lines in
    the cart's order, shipping on the goods after discounts, and the total."""

    lines: list[PricedItem]
    quote: pricing.Quote
    shipping: Decimal

    @property
    def total(self) -> Decimal:
        return self.quote.subtotal + self.shipping


def price(user, items: list[CartItem], *, rules, coupon=None) -> PricedCart:
    """Price `items` for `user` with `coupon` (a claim id, pricing.BEST, or None for
    none) under the shipping `rules`. Two queries (gift rules, sale prices), three
    more with a coupon (the shopper's coupons and what they cover). Raises
    pricing.CouponError for a coupon id that cannot be used."""
    quantities = {item.variant.pk: item.quantity for item in items}
    variants = {item.variant.pk: item.variant for item in items}
    quote = pricing.quote(user, quantities, variants, coupon=coupon)
    goods = {line.variant_id: line for line in quote.goods_lines}
    lines = [PricedItem(item, goods[item.variant.pk]) for item in items]
    shipping = shipping_fee_for(quote.subtotal, rules) if items else ZERO
    return PricedCart(lines=lines, quote=quote, shipping=shipping)
