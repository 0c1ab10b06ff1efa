"""The commission engine: plan versions, grade and product/category rules,
self-purchase, compression, proportional reversal and the query budget."""

from decimal import Decimal
from unittest import mock

import pytest

from catalog.models import Category, Product, Variant
from commissions import services
from commissions.models import (
    Commission,
    CommissionOverride,
    FrozenPlan,
    GradeRate,
    LedgerEntry,
)
from commissions.selectors import earnings_summary
from distributors.models import Distributor, Grade
from orders import services as order_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def buy(shopper, address, chain):
    """buy(variant, quantity, buyer=shopper): paid and accrued through carol's link."""

    def go(*lines, buyer=None):
        order = order_services.place_order(
            buyer or shopper,
            [(v.pk, q) for v, q in lines],
            address=address,
            referral_code=chain[2].invite_code,
        )
        order_services.mark_paid(order)
        services.accrue_commissions(order.pk)
        return order

    return go


def earned(order):
    return {
        c.distributor.user.username: (c.level, c.amount, c.rule)
        for c in Commission.objects.filter(order=order).select_related("distributor__user")
    }


def test_an_active_plan_is_frozen_and_changes_in_a_new_version(default_plan):
    default_plan.level_1_rate = Decimal("0.2")
    with pytest.raises(FrozenPlan):
        default_plan.save()

    draft = services.new_version(default_plan)
    draft.level_1_rate = Decimal("0.12")
    draft.save()
    services.activate_plan(draft)

    default_plan.refresh_from_db()
    assert (draft.version, draft.previous, default_plan.is_active) == (2, default_plan, False)
    assert default_plan.level_1_rate == Decimal("0.1000")  # the old version is untouched


def test_each_commission_names_its_plan_version_and_rule(buy, make_variant, use_plan):
    plan = use_plan(level_1_rate=Decimal("0.12"))
    order = buy((make_variant(price="100.00"), 1))
    carol = Commission.objects.get(order=order, level=1)
    assert (carol.plan, carol.amount, carol.rule) == (plan, Decimal("12.00"), "level 1 12%")


def test_an_order_paid_before_a_plan_change_keeps_the_old_rates(
    shopper, address, chain, make_variant, use_plan
):
    order = order_services.place_order(
        shopper,
        [(make_variant(price="100.00").pk, 1)],
        address=address,
        referral_code=chain[2].invite_code,
    )
    order_services.mark_paid(order)
    use_plan(level_1_rate=Decimal("0.2"))  # activated before the task ran
    services.accrue_commissions(order.pk)
    assert Commission.objects.get(order=order, level=1).amount == Decimal("10.00")


def test_a_gold_distributor_earns_the_gold_rate(buy, make_variant, use_plan, chain):
    gold = Grade.objects.get_or_create(rank=9, defaults={"name": "金牌", "name_en": "Gold"})[0]
    Distributor.objects.filter(pk=chain[2].pk).update(grade=gold)
    plan = use_plan()
    draft = services.new_version(plan)
    GradeRate.objects.create(plan=draft, grade=gold, level=1, rate=Decimal("0.15"))
    services.activate_plan(draft)

    order = buy((make_variant(price="100.00"), 1))

    assert earned(order)["carol"] == (1, Decimal("15.00"), f"grade #{gold.pk} level 1 15%")
    assert earned(order)["bob"][1] == Decimal("5.00")  # bob has no grade rate


def test_product_and_category_overrides_apply_per_line(buy, make_variant, default_plan, category):
    strong = Category.objects.create(name="浓香型", slug="strong", parent=category)
    Category.objects.partial_rebuild(category.tree_id)
    in_sub = Product.objects.create(category=strong, name="泸州", slug="lz")
    sub_variant = Variant.objects.create(product=in_sub, name="500ml", sku="LZ", price="100.00")
    fixed = make_variant(price="300.00")
    plain = make_variant(price="50.00")
    draft = services.new_version(default_plan)
    CommissionOverride.objects.create(
        plan=draft, category=category, level=1, kind="percentage", value=Decimal("0.08")
    )
    CommissionOverride.objects.create(
        plan=draft, product=fixed.product, level=1, kind="fixed", value=Decimal("20")
    )
    services.activate_plan(draft)
    Variant.objects.filter(pk__in=[sub_variant.pk, fixed.pk, plain.pk]).update(stock=10)

    order = buy((sub_variant, 1), (fixed, 2), (plain, 1))

    # level 1: 8% of the sub-category line (all three products are under 白酒:
    # the product override wins for `fixed`), fixed 20 × 2, 8% of the plain line
    level_1 = Decimal("100.00") * Decimal("0.08") + 40 + Decimal("50.00") * Decimal("0.08")
    assert earned(order)["carol"][1] == level_1
    assert earned(order)["bob"][1] == Decimal("37.50")  # level 2 has no override: 5% of 750


def test_self_purchase_credits_the_buying_distributor_only_when_the_plan_allows(
    buy, make_variant, use_plan, chain
):
    carol = chain[2]
    variant = make_variant(price="100.00")
    use_plan(self_purchase_rule="nobody")
    assert earned(buy((variant, 1), buyer=carol.user)) == {}

    use_plan(allows_self_purchase=True)
    order = buy((variant, 1), buyer=carol.user)
    assert {name: level for name, (level, _a, _r) in earned(order).items()} == {
        "carol": 1,
        "bob": 2,
    }


def test_a_suspended_level_is_skipped_or_compressed_as_the_plan_says(
    buy, make_variant, use_plan, chain
):
    alice, bob, carol = chain
    Distributor.objects.filter(pk=bob.pk).update(status=Distributor.Status.SUSPENDED)
    variant = make_variant(price="100.00")

    skipped = buy((variant, 1))
    assert {n: lvl for n, (lvl, _a, _r) in earned(skipped).items()} == {"carol": 1}

    use_plan(compresses=True)
    compressed = buy((variant, 1))
    assert {n: lvl for n, (lvl, _a, _r) in earned(compressed).items()} == {"carol": 1, "alice": 2}


def test_partial_refunds_reverse_in_proportion_and_a_full_one_nets_zero(
    buy, make_variant, chain, admin_user
):
    order = buy((make_variant(price="33.33"), 3))  # base 99.99: carol 9.99, bob 4.99
    carol = chain[2]

    services.reverse_order_commissions(order, reason="one bottle", refunded=Decimal("33.33"))
    services.reverse_order_commissions(order, reason="same again", refunded=Decimal("33.33"))
    assert Commission.objects.get(order=order, level=1).reversed_amount == Decimal("3.33")

    services.reverse_order_commissions(order, reason="the rest", refunded=Decimal("99.99"))
    assert earnings_summary(carol).total == Decimal("0.00")
    assert sum(
        LedgerEntry.objects.filter(commission__order=order).values_list("pending", flat=True)
    ) == Decimal("0.00")


def test_reversal_after_release_takes_back_available_money(buy, make_variant, chain, admin_user):
    order = buy((make_variant(price="100.00"), 2))
    order_services.ship_order(order, carrier="SF", tracking_number="1", actor=admin_user)
    order_services.complete_order(order, actor=admin_user)
    services.release_order_commissions(order.pk)

    services.reverse_order_commissions(order, reason="after-sale", refunded=Decimal("100.00"))

    summary = earnings_summary(chain[2])
    assert (summary.pending, summary.available, summary.total) == (
        Decimal("0.00"),
        Decimal("10.00"),
        Decimal("10.00"),
    )


# Outside a test transaction, so that accrual's atomic block is the outermost
# one (as in the worker) and no savepoint queries are counted.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_overrides", [False, True])
def test_accrual_costs_a_fixed_number_of_queries_at_any_depth(
    django_assert_max_num_queries,
    shopper,
    address,
    make_variant,
    make_distributor,
    use_plan,
    with_overrides,
    category,
):
    plan = use_plan(levels=3, level_3_rate=Decimal("0.02"))
    if with_overrides:
        draft = services.new_version(plan)
        CommissionOverride.objects.create(
            plan=draft, category=category, level=2, kind="percentage", value=Decimal("0.03")
        )
        services.activate_plan(draft)
    top = make_distributor("top")
    chain = [top]
    for n in range(6):  # deeper than the plan pays
        chain.append(make_distributor(f"d{n}", parent=chain[-1]))
    order = order_services.place_order(
        shopper,
        [(make_variant().pk, 1), (make_variant().pk, 2)],
        address=address,
        referral_code=chain[-1].invite_code,
    )
    # Paid without its accrual task (eager here, it would accrue at once and leave
    # nothing for the measured call to do).
    with mock.patch.object(services, "schedule_accrual"):
        order = order_services.mark_paid(order)
    services.rules_for(order.commission_plan_id)  # the plan's rules, read once per process

    # lock the order, its chain's members, its lines, the accrual record, the
    # commissions, their ledger entries (6); then each earner is told: the earners
    # with their settings (1), and per earner the site message's get-or-create (4)
    # and the email's delivery (1). The emails
    # themselves are sent by their own tasks after the commit, not counted here.
    # The transaction's BEGIN and COMMIT are counted too (2).
    budget = 2 + 6 + 1 + 3 * 5
    with mock.patch("core.outbox.enqueue"), django_assert_max_num_queries(budget):
        commissions = services.accrue_commissions(order.pk)
    assert len(commissions) == 3
