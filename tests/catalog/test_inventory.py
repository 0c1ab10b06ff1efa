"""Every stock change is a movement, and the movements add up to the stock."""

import pytest
from django.db.models import Sum

from catalog import inventory
from catalog.models import StockMovement


def _ledger_matches(variant) -> bool:
    variant.refresh_from_db()
    total = variant.movements.aggregate(total=Sum("quantity"))["total"] or 0
    latest = variant.movements.order_by("-created_at", "-pk").first()
    return total == variant.stock and (latest is None or latest.stock_after == variant.stock)


@pytest.mark.django_db
def test_selling_more_than_the_stock_changes_nothing(make_variant):
    variant = make_variant(stock=3)
    with pytest.raises(inventory.InsufficientStock) as short:
        inventory.sell([(variant.pk, 4)], reference="X1")
    assert short.value.available == 3
    variant.refresh_from_db()
    assert variant.stock == 3
    assert list(variant.movements.values_list("kind", flat=True)) == ["received"]


@pytest.mark.django_db
def test_sell_release_receive_adjust_add_up(make_variant, make_user):
    variant = make_variant(stock=5)
    clerk = make_user("clerk")
    inventory.sell([(variant.pk, 2), (variant.pk, 1)], reference="X1")
    inventory.put_back([(variant.pk, 3)], kind=StockMovement.Kind.RELEASED, reference="X1")
    inventory.receive(variant, 10, actor=clerk, reason="delivery 42")
    inventory.set_stock(variant, 12, actor=clerk, reason="stock-take: 3 broken")
    kinds = list(variant.movements.order_by("pk").values_list("kind", "quantity", "stock_after"))
    assert kinds == [
        ("received", 5, 5),
        ("sold", -3, 2),
        ("released", 3, 5),
        ("received", 10, 15),
        ("adjusted", -3, 12),
    ]
    assert _ledger_matches(variant)


@pytest.mark.django_db
def test_an_adjustment_needs_a_reason(variant, make_user):
    with pytest.raises(ValueError):
        inventory.adjust(variant, -1, actor=make_user("clerk"), reason="  ")
    assert variant.movements.count() == 1
