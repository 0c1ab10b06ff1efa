"""The shopping cart, kept in the session: it survives sign-in (Django keeps the
session data when it rotates the key at login)."""

from dataclasses import dataclass
from decimal import Decimal

from catalog.models import Variant
from core.money import ZERO

SESSION_KEY = "cart"
MAX_QUANTITY = 99


@dataclass(frozen=True)
class CartItem:
    variant: Variant
    quantity: int

    @property
    def line_total(self) -> Decimal:
        return self.variant.price * self.quantity

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

    def _save(self) -> None:
        self.session[SESSION_KEY] = self.lines

    def __len__(self) -> int:
        return sum(self.lines.values())

    def as_pairs(self) -> list[tuple[int, int]]:
        return [(int(pk), qty) for pk, qty in self.lines.items()]

    def items(self) -> list[CartItem]:
        """The lines with their variants, in one query; vanished variants drop out."""
        if not self.lines:
            return []
        variants = Variant.objects.select_related("product").in_bulk([int(pk) for pk in self.lines])
        return [
            CartItem(variants[int(pk)], qty)
            for pk, qty in self.lines.items()
            if int(pk) in variants and variants[int(pk)].is_purchasable
        ]

    @staticmethod
    def subtotal(items: list[CartItem]) -> Decimal:
        return sum((item.line_total for item in items), ZERO)
