"""Property-based tests (hypothesis) of the commission arithmetic and ledger."""

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from commissions.models import CommissionOverride
from commissions.rules import (
    Line,
    Override,
    PlanRules,
    capped_amounts,
    kept_after_refund,
    level_amount,
    reversal_target,
)
from core.money import ZERO, to_cents

cents = st.integers(min_value=1, max_value=5_000_000).map(lambda n: Decimal(n) / 100)
rates = st.integers(min_value=0, max_value=5000).map(lambda n: Decimal(n) / 10000)
shares = st.integers(min_value=0, max_value=10000).map(lambda n: Decimal(n) / 10000)


@st.composite
def plans_and_orders(draw):
    levels = draw(st.integers(1, 3))
    level_rates = tuple(draw(st.lists(rates, min_size=levels, max_size=levels)))
    cap = draw(rates)
    product_ids = draw(st.lists(st.integers(1, 6), min_size=1, max_size=5))
    overrides = {}
    for product_id in draw(st.sets(st.sampled_from(product_ids), max_size=3)):
        level = draw(st.integers(1, levels))
        fixed = draw(st.booleans())
        value = draw(cents) if fixed else draw(rates)
        kind = CommissionOverride.Kind.FIXED if fixed else CommissionOverride.Kind.PERCENTAGE
        overrides[(product_id, level)] = Override(kind, value, "o")
    rules = PlanRules(
        plan_id=1,
        levels=levels,
        level_rates=level_rates,
        payout_cap=cap,
        compresses=False,
        allows_self_purchase=False,
        product_overrides=overrides,
    )
    lines = []
    for product_id in product_ids:
        quantity = draw(st.integers(1, 20))
        unit = draw(cents)
        lines.append(Line(unit * quantity, quantity, product_id, None))
    return rules, lines


@settings(max_examples=3000)
@given(plans_and_orders())
def test_an_orders_commissions_never_exceed_the_cap(plan_and_order):
    rules, lines = plan_and_order
    base = sum((line.paid_amount for line in lines), ZERO)
    raw = [level_amount(rules, level, None, base, lines)[0] for level in range(1, rules.levels + 1)]

    amounts = capped_amounts(raw, base, rules.payout_cap)

    assert sum(amounts) <= base * rules.payout_cap
    for amount, wanted in zip(amounts, raw, strict=True):
        assert ZERO <= amount <= to_cents(wanted)
        assert amount == amount.quantize(Decimal("0.01"))


@settings(max_examples=3000)
@given(cents, st.lists(shares, min_size=1, max_size=6))
def test_partial_refunds_reverse_proportionally_and_a_full_refund_nets_zero(amount, steps):
    refunded_shares = sorted(steps)  # refunds only ever add up
    reversed_so_far = ZERO
    for share in refunded_shares:
        target = reversal_target(amount, share)
        step = target - reversed_so_far
        assert step >= ZERO  # a later refund never gives money back
        assert abs(target - amount * share) < Decimal("0.01")  # in proportion, to the fen
        reversed_so_far = target
    assert amount - reversal_target(amount, Decimal(1)) == ZERO


@settings(max_examples=3000)
@given(cents, st.integers(1, 3000).map(lambda n: Decimal(n) / 10000), st.data())
def test_the_net_kept_never_exceeds_the_rate_of_the_goods_kept(base, rate, data):
    amount = to_cents(base * rate)  # as accrual pays it: rounded down
    refunded = data.draw(st.integers(0, int(base * 100)).map(lambda n: Decimal(n) / 100))

    net = amount - reversal_target(amount, refunded, base)

    assert net == kept_after_refund(amount, refunded, base)
    assert ZERO <= net <= rate * (base - refunded)  # never a fen more than the rate allows
    assert net > amount * (base - refunded) / base - Decimal("0.01")  # nor a fen less
    assert reversal_target(amount, base, base) == amount  # a full refund nets exactly zero


class LedgerProperties(TestCase):
    """Random networks, plans, orders and refunds through the real services."""

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        depth=st.integers(1, 5),
        suspended=st.sets(st.integers(0, 4), max_size=2),
        levels=st.integers(1, 3),
        level_rates=st.lists(rates, min_size=3, max_size=3),
        compresses=st.booleans(),
        lines=st.lists(st.tuples(cents, st.integers(1, 5)), min_size=1, max_size=4),
        refunds=st.lists(shares, min_size=0, max_size=3),
    )
    def test_refunding_everything_leaves_every_balance_at_zero(
        self, depth, suspended, levels, level_rates, compresses, lines, refunds
    ):
        from django.contrib.auth import get_user_model

        from catalog.models import Category, Product, Variant
        from commissions import services
        from commissions.models import Commission, CommissionPlan, LedgerEntry
        from distributors.models import Distributor
        from distributors.network import join_network
        from orders import services as order_services

        User = get_user_model()
        base_plan = CommissionPlan.objects.get(is_active=True)
        draft = services.new_version(base_plan)
        draft.levels, draft.compresses = levels, compresses
        draft.level_1_rate, draft.level_2_rate, draft.level_3_rate = level_rates
        draft.payout_cap = Decimal("0.3")
        if sum(draft.rates()) <= draft.payout_cap:  # a plan above its cap is never stored
            draft.save()
            plan = services.activate_plan(draft)
        else:
            plan = base_plan

        parent = None
        members = []
        for n in range(depth):
            parent = join_network(
                User.objects.create(username=f"d{n}"), invite_code=parent and parent.invite_code
            )
            members.append(parent)
        Distributor.objects.filter(pk__in=[members[i].pk for i in suspended if i < depth]).update(
            status=Distributor.Status.SUSPENDED
        )
        category = Category.objects.create(name="酒", slug="c")
        pairs = []
        for n, (price, quantity) in enumerate(lines):
            product = Product.objects.create(category=category, name=f"p{n}", slug=f"p{n}")
            variant = Variant.objects.create(
                product=product, name="v", sku=f"s{n}", price=price, stock=quantity
            )
            pairs.append((variant.pk, quantity))
        order = order_services.place_order(
            User.objects.create(username="buyer"),
            pairs,
            address=order_services.ShippingAddress("a", "13800138000", "b"),
            referral_code=members[-1].invite_code,
        )
        order = order_services.mark_paid(order)
        commissions = services.accrue_commissions(order.pk)

        assert order.commission_plan == plan
        assert sum(c.amount for c in commissions) <= order.subtotal * plan.payout_cap
        for share in sorted(refunds):
            services.reverse_order_commissions(
                order, reason="partial", refunded=to_cents(order.subtotal * share)
            )
            for c in Commission.objects.filter(order=order):
                refunded = to_cents(order.subtotal * share)
                assert abs(c.reversed_amount - c.amount * refunded / order.subtotal) < Decimal(
                    "0.01"
                )
                kept_goods = order.subtotal - refunded
                assert c.net_amount * order.subtotal <= c.amount * kept_goods
        services.reverse_order_commissions(order, reason="all")

        for member in members:
            net = LedgerEntry.objects.filter(distributor=member).values_list("pending", flat=True)
            assert sum(net, ZERO) == ZERO
        assert not Commission.objects.filter(order=order).exclude(status="reversed").exists()
