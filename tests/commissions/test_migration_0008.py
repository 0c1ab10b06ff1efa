"""Migration 0008 marks what was accrued, keeps used plans' rules and fits rates in the cap."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("commissions", "0007_automatic_payouts"), ("orders", "0005_refunded_amount_label")]
AFTER = [("commissions", "0008_accrual_records_and_plan_rules")]


@pytest.mark.django_db(transaction=True)
def test_existing_orders_and_plans_are_brought_in_line():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Plan, Order = old.get_model("commissions", "CommissionPlan"), old.get_model("orders", "Order")
    Commission = old.get_model("commissions", "Commission")
    # accounts and distributors are not rolled back: their tables are today's
    from django.contrib.auth import get_user_model

    from distributors.network import join_network

    # a flush by an earlier transactional test may have removed migration 0002's plan
    used = Plan.objects.create(name="used", level_1_rate=Decimal("0.1"), is_frozen=True)
    greedy = Plan.objects.create(
        name="greedy", levels=2, level_1_rate=Decimal("0.25"), level_2_rate=Decimal("0.10")
    )
    user = get_user_model().objects.create_user("buyer")
    earner = join_network(user, invite_code=None)
    paid_at = timezone.now() - timedelta(days=1)

    def order(number, **fields):
        return Order.objects.create(
            number=number,
            user_id=user.pk,
            subtotal=Decimal("100.00"),
            shipping_fee=0,
            total=Decimal("100.00"),
            status="completed",
            paid_at=paid_at,
            referral_chain=[earner.pk],
            commission_plan=used,
            **fields,
        )

    accrued, silent = order("A1"), order("A2")
    Commission.objects.create(
        order=accrued,
        distributor_id=earner.pk,
        plan=used,
        level=1,
        base=100,
        rate=Decimal("0.1"),
        amount=Decimal("10.00"),
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    Plan, Accrual = (
        new.get_model("commissions", "CommissionPlan"),
        new.get_model("commissions", "Accrual"),
    )

    assert Accrual.objects.get(order_id=accrued.pk).outcome == "credited"
    assert Accrual.objects.get(order_id=silent.pk).outcome == "legacy"
    assert Plan.objects.get(pk=used.pk).self_purchase_rule == "nobody"
    fitted = Plan.objects.get(pk=greedy.pk)
    assert (fitted.level_1_rate, fitted.level_2_rate) == (Decimal("0.25"), Decimal("0.05"))
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
