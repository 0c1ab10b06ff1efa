"""Sales and recruits at chosen times, for the leaderboard and contest tests."""

import itertools
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from catalog import inventory
from catalog.models import Category, Product, Variant
from distributors.models import Distributor
from orders.models import Order
from orders.services import ShippingAddress, place_order

_numbers = itertools.count(1)
ADDRESS = ShippingAddress("张三", "13800138000", "上海市浦东新区世纪大道 100 号")


def sell(distributor, amount, *, status=Order.Status.PAID, paid_at=None, refunded="0") -> Order:
    """An order of `amount` in goods credited to `distributor` (placed through
    place_order), then put in `status`, paid at `paid_at` (now), `refunded` given back."""
    n = next(_numbers)
    buyer = get_user_model().objects.create_user(f"buyer{n}", f"buyer{n}@example.com", "pw")
    category, _ = Category.objects.get_or_create(slug="board-goods", defaults={"name": "酒"})
    product = Product.objects.create(category=category, name=f"酒{n}", slug=f"board-{n}")
    variant = Variant.objects.create(
        product=product, name="500ml", sku=f"BOARD-{n}", price=Decimal(amount)
    )
    inventory.receive(variant, 1, actor=None, reason="opening stock")
    order = place_order(
        buyer, [(variant.pk, 1)], address=ADDRESS, referral_code=distributor.invite_code
    )
    paid = status not in (Order.Status.PENDING_PAYMENT, Order.Status.CANCELLED)
    Order.objects.filter(pk=order.pk).update(
        status=status,
        paid_at=(paid_at or timezone.now()) if paid else None,
        refunded_total=Decimal(refunded),
    )
    return order


def joined(member, at) -> Distributor:
    """`member`, as if they had joined at `at`."""
    Distributor.objects.filter(pk=member.pk).update(joined_at=at)
    return member


def call(distributor, first_name: str) -> Distributor:
    """`distributor`, whose user's name is `first_name`."""
    distributor.user.first_name = first_name
    distributor.user.save(update_fields=["first_name"])
    return distributor
