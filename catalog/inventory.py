"""Stock changes (库存变动): the only code that writes ``Variant.stock``.

Every change locks the variant rows (in primary-key order, so two callers can
never deadlock), refuses to take stock below zero, writes the new stock and
appends one ``StockMovement`` per variant, all in the caller's transaction.
The database's ``stock >= 0`` check is the last guard behind this one.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.functions import Greatest
from django.utils.translation import gettext as _

from core.errors import ServiceError

from . import cache, invalidation
from .models import Product, StockMovement, Variant

Kind = StockMovement.Kind


class InsufficientStock(ServiceError):
    """Taking ``wanted`` of a variant that has only ``available``."""

    def __init__(self, variant_id: int, available: int, wanted: int):
        self.variant_id = variant_id
        self.available = available
        self.wanted = wanted
        super().__init__(
            _("Only %(available)d in stock, cannot take %(wanted)d.")
            % {"available": available, "wanted": wanted}
        )


@transaction.atomic
def move(
    changes: Iterable[tuple[int, int]],
    *,
    kind: str,
    actor=None,
    reference: str = "",
    reason: str = "",
) -> list[StockMovement]:
    """Apply signed ``(variant_id, quantity)`` changes as one movement each.

    Three queries whatever the number of variants: lock, update, insert; a
    fourth for sales, releases and returns, which move the products'
    ``sold_count`` (the best-selling sort) in the same transaction: stock is
    sold when an order is placed, so a cancelled order's release un-counts it.
    Cached storefront pages are invalidated after the commit only where what
    they say of the stock changed (catalog.invalidation).
    Raises ``InsufficientStock`` (and changes nothing) if any would go below zero.
    """
    deltas: dict[int, int] = {}
    for variant_id, quantity in changes:
        deltas[variant_id] = deltas.get(variant_id, 0) + quantity
    deltas = {pk: qty for pk, qty in deltas.items() if qty}
    if not deltas:
        return []
    locked = (
        Variant.objects.select_for_update()
        .filter(pk__in=sorted(deltas))
        .order_by("pk")
        .values_list("pk", "stock", "product_id")
    )
    current, product_of = {}, {}
    for pk, stock, product_id in locked:
        current[pk] = stock
        product_of[pk] = product_id
    after = {}
    for pk, quantity in sorted(deltas.items()):
        if pk not in current:
            raise Variant.DoesNotExist(pk)
        after[pk] = current[pk] + quantity
        if after[pk] < 0:
            raise InsufficientStock(pk, current[pk], -quantity)
    Variant.objects.filter(pk__in=after).update(
        stock=Case(
            *(When(pk=pk, then=Value(stock)) for pk, stock in after.items()),
            output_field=IntegerField(),
        )
    )
    movements = StockMovement.objects.bulk_create(
        StockMovement(
            variant_id=pk,
            kind=kind,
            quantity=deltas[pk],
            stock_after=after[pk],
            actor=actor,
            reference=reference,
            reason=reason,
        )
        for pk in sorted(after)
    )
    if kind in (Kind.SOLD, Kind.RELEASED, Kind.RETURNED):
        _count_sales(product_of, deltas)
        cache.note_sales()
    # Cached pages go stale only where they say something else of the stock now.
    changed = invalidation.stock_shown_changed(current, after)
    if changed:
        invalidation.products_changed({product_of[pk] for pk in changed}, edited=False)
    return movements


def _count_sales(product_of: dict[int, int], deltas: dict[int, int]) -> None:
    """A sale (negative quantity) counts as sold; a release or a return un-counts it."""
    sold: dict[int, int] = {}
    for pk, quantity in deltas.items():
        sold[product_of[pk]] = sold.get(product_of[pk], 0) - quantity
    sold = {pk: n for pk, n in sold.items() if n}
    if not sold:
        return
    Product.objects.filter(pk__in=sold).update(
        sold_count=Greatest(
            F("sold_count")
            + Case(
                *(When(pk=pk, then=Value(n)) for pk, n in sold.items()),
                output_field=IntegerField(),
            ),
            Value(0),
        )
    )


def sell(lines: Iterable[tuple[int, int]], *, reference: str, actor=None) -> list[StockMovement]:
    """Take the stock of an order's lines; ``InsufficientStock`` if one falls short."""
    return move(((pk, -qty) for pk, qty in lines), kind=Kind.SOLD, reference=reference, actor=actor)


def put_back(
    lines: Iterable[tuple[int, int]], *, kind: str, reference: str, actor=None, reason: str = ""
) -> list[StockMovement]:
    """Return stock of cancelled (RELEASED) or refunded (RETURNED) order lines."""
    if kind not in (Kind.RELEASED, Kind.RETURNED):
        raise ValueError(kind)
    return move(lines, kind=kind, reference=reference, actor=actor, reason=reason)


def receive(variant: Variant, quantity: int, *, actor, reason: str = "", reference: str = ""):
    """Goods arrived: add ``quantity`` (> 0) to the stock."""
    if quantity < 1:
        raise ValueError(_("Received quantity must be at least 1."))
    changes = [(variant.pk, quantity)]
    return move(changes, kind=Kind.RECEIVED, actor=actor, reason=reason, reference=reference)


def adjust(variant: Variant, quantity: int, *, actor, reason: str):
    """A stock-take correction (盘点), + or -, always with a reason."""
    if not reason.strip():
        raise ValueError(_("Give a reason for the adjustment."))
    return move([(variant.pk, quantity)], kind=Kind.ADJUSTED, actor=actor, reason=reason)


def set_stock(variant: Variant, stock: int, *, actor, reason: str):
    """Adjust to a counted ``stock`` (an admin edit or an import), as one movement."""
    if stock < 0:
        raise ValueError(_("Stock cannot be negative."))
    with transaction.atomic():
        current = (
            Variant.objects.select_for_update().values_list("stock", flat=True).get(pk=variant.pk)
        )
        if stock == current:
            return []
        return adjust(variant, stock - current, actor=actor, reason=reason)
