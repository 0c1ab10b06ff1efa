"""The spine of one order, step by step: place, pay, accrue commissions.

    python -m benchmarks.order_flow [orders]

Prints p50/p95 latency and SQL queries of each step, then one JSON line.
"""

import json
import sys
from decimal import Decimal

from benchmarks._harness import Timer, print_table, progress, setup_django, test_database

setup_django()


def run(orders: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection

    from catalog import inventory
    from catalog.models import Category, Product, Variant
    from commissions import services as commission_services
    from commissions.services import accrue_commissions
    from distributors.network import join_network
    from orders import services as order_services

    # mark_paid enqueues accrual on commit; here accrual is timed as its own step.
    commission_services.schedule_accrual = lambda order: None
    User = get_user_model()
    category = Category.objects.create(name="白酒", slug="baijiu")
    product = Product.objects.create(category=category, name="酒", slug="jiu")
    variant = Variant.objects.create(
        product=product, name="500ml", sku="B-1", price=Decimal("168.00")
    )
    inventory.receive(variant, orders * 2, actor=None, reason="benchmark stock")
    top = join_network(User.objects.create_user("top"))
    mid = join_network(User.objects.create_user("mid"), invite_code=top.invite_code)
    seller = join_network(User.objects.create_user("seller"), invite_code=mid.invite_code)
    shopper = User.objects.create_user("shopper")
    address = order_services.ShippingAddress("张三", "13800138000", "上海")

    place, pay, accrue = Timer("place_order"), Timer("mark_paid"), Timer("accrue_commissions")
    for n in range(1, orders + 1):
        with place.measure():
            order = order_services.place_order(
                shopper, [(variant.pk, 1)], address=address, referral_code=seller.invite_code
            )
        with pay.measure():
            order_services.mark_paid(order)
        with accrue.measure():
            accrue_commissions(order.pk)
        progress(n, orders, "orders")
    return {
        "database": connection.vendor,
        "orders": orders,
        "steps": [place.row(), pay.row(), accrue.row()],
    }


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with test_database():
        result = run(count)
    print_table(result["steps"])
    print(json.dumps(result))
