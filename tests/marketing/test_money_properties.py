"""Property tests (hypothesis) of the money rules of promotions.

The pure part runs `marketing.pricing` over random carts and coupons with no
database; the rest places, pays and refunds random orders through the real
services and checks what the shopper, the merchant and the distributors end
up with.
"""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.money import CENT, ZERO, to_cents
from marketing import pricing
from marketing.models import Coupon, CouponClaim

D = Decimal
NOW = timezone.now()


def money(low: int, high: int):
    """Amounts of `low`..`high` fen."""
    return st.integers(low, high).map(lambda fen: D(fen) / 100)


# A small category forest as MPTT numbers it: (tree_id, lft, rght) -> its parent.
CATEGORIES = {
    (1, 1, 10): None,
    (1, 2, 5): (1, 1, 10),
    (1, 3, 4): (1, 2, 5),
    (1, 6, 9): (1, 1, 10),
    (1, 7, 8): (1, 6, 9),
    (2, 1, 4): None,
    (2, 2, 3): (2, 1, 4),
}
PRODUCTS = range(1, 9)


def in_or_below(category, chosen) -> bool:
    """Whether `category` is one of `chosen` or below one of them, by walking up its parents."""
    while category is not None:
        if category in chosen:
            return True
        category = CATEGORIES[category]
    return False


@st.composite
def items(draw):
    """A cart of 1-6 lines, some at a time-limited price below their list price."""
    count = draw(st.integers(1, 6))
    cart = []
    for n in range(count):
        list_price = draw(money(1, 999_999))
        sale_price = None
        if list_price > CENT and draw(st.booleans()):
            sale_price = draw(money(1, int(list_price * 100) - 1))
        cart.append(
            pricing.Item(
                variant_id=n + 1,
                product_id=draw(st.sampled_from(PRODUCTS)),
                category=draw(st.sampled_from(sorted(CATEGORIES))),
                quantity=draw(st.integers(1, 20)),
                list_price=list_price,
                sale_price=sale_price,
            )
        )
    return cart


@st.composite
def rules(draw):
    """A coupon of any kind and scope, valid as the coupon form would accept it."""
    kind = draw(st.sampled_from(Coupon.Kind.values))
    amount = percent = max_discount = None
    threshold = ZERO
    if kind == Coupon.Kind.AMOUNT_OFF:
        threshold = draw(money(2, 2_000_000))
        amount = draw(money(1, int(threshold * 100) - 1))
    elif kind == Coupon.Kind.NO_THRESHOLD:
        amount = draw(money(1, 500_000))
    else:
        percent = draw(money(100, 9900))
        max_discount = draw(st.none() | money(1, 500_000))
        threshold = draw(st.just(ZERO) | money(1, 2_000_000))
    scope = draw(st.sampled_from(Coupon.Scope.values))
    products = categories = ()
    if scope == Coupon.Scope.PRODUCTS:
        products = draw(st.frozensets(st.sampled_from(PRODUCTS), min_size=1, max_size=4))
    elif scope == Coupon.Scope.CATEGORIES:
        categories = tuple(
            draw(st.lists(st.sampled_from(sorted(CATEGORIES)), min_size=1, max_size=3, unique=True))
        )
    return pricing.CouponRule(
        kind=kind,
        amount=amount,
        threshold=threshold,
        percent_off=percent,
        max_discount=max_discount,
        scope=scope,
        product_ids=frozenset(products),
        category_ranges=categories,
    )


@st.composite
def claims(draw):
    """The shopper's 0-3 coupons: valid now, some expiring sooner than others."""
    held = []
    for pk, rule in enumerate(draw(st.lists(rules(), max_size=3)), start=1):
        claim = CouponClaim(
            pk=pk,
            coupon=Coupon(pk=pk, name=f"{rule.kind} {rule.scope}"),  # printed with a failure
            user=get_user_model()(username="shopper"),
            valid_from=NOW - timedelta(days=1),
            valid_until=NOW + timedelta(hours=draw(st.integers(1, 72))),
        )
        held.append((claim, rule))
    return held


def covered(rule: pricing.CouponRule, item: pricing.Item) -> bool:
    """Whether the coupon covers the item, worked out apart from pricing."""
    if rule.scope == Coupon.Scope.PRODUCTS:
        return item.product_id in rule.product_ids
    if rule.scope == Coupon.Scope.CATEGORIES:
        return in_or_below(item.category, set(rule.category_ranges))
    return True


def expected_discount(rule: pricing.CouponRule, cart: list[pricing.Item]) -> Decimal:
    """What the coupon takes off the cart by the rules the merchant reads, or 0.00."""
    eligible = sum(
        (to_cents(item.unit_price * item.quantity) for item in cart if covered(rule, item)), ZERO
    )
    after_sale = sum((to_cents(item.unit_price * item.quantity) for item in cart), ZERO)
    if eligible == 0 or eligible < rule.threshold:
        return ZERO
    if rule.kind == Coupon.Kind.PERCENT_OFF:
        off = (eligible * rule.percent_off / 100).quantize(CENT, rounding="ROUND_DOWN")
        if rule.max_discount is not None:
            off = min(off, rule.max_discount)
    else:
        off = rule.amount
    # never more than the goods it covers, and the goods cost at least one fen in all
    return max(min(off, eligible, after_sale - CENT), ZERO)


def assert_allocation_rule(amount, weights, shares):
    """Shares add up, none above its weight, each at least its rounded-down proportion,
    and the fen left over sit on the largest lines first, each filled before the next."""
    total = sum(weights, ZERO)
    assert sum(shares, ZERO) == amount
    floors = [
        (amount * w / total).quantize(CENT, rounding="ROUND_DOWN") if total else ZERO
        for w in weights
    ]
    for share, weight, floor in zip(shares, weights, floors, strict=True):
        assert ZERO <= floor <= share <= weight
    order = sorted(range(len(weights)), key=lambda i: (-weights[i], i))
    extra = [shares[i] - floors[i] for i in order]
    took = [n for n, fen in enumerate(extra) if fen > 0]
    if took:
        last = took[-1]
        assert took == list(range(last + 1)), "the remainder skipped a larger line"
        for i in order[:last]:
            assert shares[i] == weights[i], "a smaller line took fen a larger one had room for"


# --- pure: no database -----------------------------------------------------------------


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(money(0, 999_999), min_size=1, max_size=6).flatmap(
        lambda weights: st.tuples(st.just(weights), money(0, int(sum(weights, ZERO) * 100)))
    )
)
def test_allocate_spreads_exactly_and_never_above_a_line(case):
    weights, amount = case

    shares = pricing.allocate(amount, weights)

    assert len(shares) == len(weights)
    assert_allocation_rule(amount, weights, shares)


@settings(max_examples=1000, deadline=None)
@given(items(), claims(), st.sampled_from([pricing.BEST, None]))
def test_every_line_adds_up_and_the_coupon_goes_only_where_it_applies(cart, held, choice):
    quote = pricing.price(cart, claims=held, coupon=choice, now=NOW)

    lines = quote.lines
    assert len(lines) == len(cart)
    for line, item in zip(lines, cart, strict=True):
        assert line.line_total == item.list_price * item.quantity
        assert line.sale_discount == (item.list_price - item.unit_price) * item.quantity
        assert line.sale_discount + line.coupon_discount + line.paid_amount == line.line_total
        for amount in (line.sale_discount, line.coupon_discount, line.paid_amount):
            assert amount >= ZERO
        assert line.paid_amount <= item.unit_price * item.quantity
    assert quote.subtotal >= CENT  # the goods never cost nothing

    best = max((expected_discount(rule, cart) for _claim, rule in held), default=ZERO)
    if choice is None or best == ZERO:
        assert quote.chosen is None
        assert all(line.coupon_discount == ZERO for line in lines)
        return
    # the best coupon is chosen, for what the merchant's rules say it takes off
    assert quote.chosen.discount == best
    assert quote.coupon_discount == best
    rule = {c.pk: r for c, r in held}[quote.chosen.claim.pk]
    assert expected_discount(rule, cart) == best
    for line, item in zip(lines, cart, strict=True):
        if not covered(rule, item):
            assert line.coupon_discount == ZERO
    weights = [item.unit_price * item.quantity if covered(rule, item) else ZERO for item in cart]
    assert_allocation_rule(best, weights, [line.coupon_discount for line in lines])


@settings(max_examples=500, deadline=None)
@given(items(), claims(), st.data())
def test_a_chosen_coupon_is_used_if_it_can_be_and_refused_otherwise(cart, held, data):
    if not held:
        return
    claim, rule = data.draw(st.sampled_from(held))
    wanted = expected_discount(rule, cart)

    if wanted == ZERO:
        with pytest.raises(pricing.CouponError):
            pricing.price(cart, claims=held, coupon=claim.pk, now=NOW)
        return
    quote = pricing.price(cart, claims=held, coupon=str(claim.pk), now=NOW)

    assert quote.chosen.claim.pk == claim.pk
    assert quote.coupon_discount == wanted
    for line, item in zip(quote.lines, cart, strict=True):
        assert line.paid_amount >= ZERO
        assert covered(rule, item) or line.coupon_discount == ZERO


# --- through the real services: place, pay, refund in steps ----------------------------


@pytest.fixture
def shop(category, make_distributor, admin_user):
    """What every example shares: bob (recruited by alice) sells, a category with a
    subcategory, a member of staff who approves refunds."""
    from catalog.models import Category

    alice = make_distributor("alice")
    bob = make_distributor("bob", parent=alice)
    child = Category.objects.create(name="酱香", slug="jiangxiang", parent=category)
    category.refresh_from_db()
    return {"bob": bob, "categories": [category, child], "staff": admin_user}


@st.composite
def orders(draw):
    """A cart (1-4 lines, some on sale, in one of two categories) and a coupon for it."""
    lines = []
    for _n in range(draw(st.integers(1, 4))):
        price = draw(money(2, 300_000))
        sale = draw(st.none() | money(1, int(price * 100) - 1))
        lines.append((price, sale, draw(st.integers(1, 6)), draw(st.integers(0, 1))))
    goods = sum(((sale or price) * qty for price, sale, qty, _c in lines), ZERO)
    kind = draw(st.sampled_from(Coupon.Kind.values))
    coupon = {"kind": kind, "threshold": ZERO}
    if kind == Coupon.Kind.AMOUNT_OFF:
        coupon["threshold"] = draw(money(2, int(goods * 120) + 2))
        coupon["amount"] = draw(money(1, int(coupon["threshold"] * 100) - 1))
    elif kind == Coupon.Kind.NO_THRESHOLD:
        coupon["amount"] = draw(money(1, int(goods * 100) + 100))
    else:
        coupon["percent_off"] = draw(st.integers(1, 99).map(D))
        coupon["max_discount"] = draw(st.none() | money(1, int(goods * 100)))
    coupon["scope"] = draw(st.sampled_from(Coupon.Scope.values))
    return {
        "lines": lines,
        "coupon": coupon,
        "products": draw(st.sets(st.integers(0, len(lines) - 1), min_size=1)),  # line indexes
        "category": draw(st.integers(0, 1)),  # the parent category (all lines) or the child
        "choice": draw(st.sampled_from([pricing.BEST, None])),
    }


def refunded_by_line(order) -> dict[int, Decimal]:
    from orders.models import AfterSaleLine, AfterSaleRequest

    given_back: dict[int, Decimal] = {}
    for line_id, amount in AfterSaleLine.objects.filter(
        request__order=order, request__status=AfterSaleRequest.Status.REFUNDED
    ).values_list("order_line_id", "amount"):
        given_back[line_id] = given_back.get(line_id, ZERO) + amount
    return given_back


def assert_money_kept_straight(order):
    """What a refunded order must always show, whatever was refunded so far."""
    from commissions.verification import verify_ledger
    from orders.models import Order
    from payments.models import Refund

    order.refresh_from_db()
    refunds = sum(Refund.objects.filter(payment__order=order).values_list("amount", flat=True))
    assert refunds == order.refunded_total <= order.total
    given_back = refunded_by_line(order)
    for line in order.lines.all():
        assert given_back.get(line.pk, ZERO) <= line.paid_amount
    commissions = list(order.commissions.all())
    assert sum(c.amount for c in commissions) <= order.commission_plan.payout_cap * order.subtotal
    assert all(c.base == order.subtotal and c.net_amount >= ZERO for c in commissions)
    if order.status == Order.Status.REFUNDED:
        assert order.refunded_total == order.total
        assert all(c.net_amount == ZERO and c.status == "reversed" for c in commissions)
        for line in order.lines.all():
            assert given_back.get(line.pk, ZERO) == line.paid_amount
    assert verify_ledger().problems == []


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=orders(), data=st.data())
def test_refunds_in_steps_never_give_back_more_than_was_paid(shop, address, case, data):
    """Random cart, sale and coupon; partial refunds of random units; sometimes the rest."""
    from django.db import transaction

    from catalog.models import Product, Variant
    from commissions.services import accrue_commissions
    from marketing import coupons
    from marketing.models import TimedDiscount
    from orders import aftersale, refunds, services
    from orders.models import AfterSaleRequest, Order
    from tests.orders.aftersale_helpers import pay

    names = itertools.count(1)
    with transaction.atomic():  # each example starts from the shared shop alone
        # given a paid order through bob's link, priced with a sale and maybe a coupon
        sale = TimedDiscount.objects.create(
            name="限时", starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(days=1)
        )
        pairs, products = [], []
        for price, sale_price, quantity, category in case["lines"]:
            n = next(names)
            product = Product.objects.create(
                category=shop["categories"][category], name=f"酒{n}", slug=f"p-{n}"
            )
            variant = Variant.objects.create(
                product=product, name="500ml", sku=f"S-{n}", price=price, stock=quantity
            )
            if sale_price is not None:
                sale.items.create(variant=variant, price=sale_price)
            pairs.append((variant.pk, quantity))
            products.append(product)
        coupon = Coupon.objects.create(
            name="券",
            valid_from=NOW - timedelta(days=1),
            valid_until=NOW + timedelta(days=1),
            **case["coupon"],
        )
        if coupon.scope == Coupon.Scope.PRODUCTS:
            coupon.products.set([products[i] for i in case["products"]])
        elif coupon.scope == Coupon.Scope.CATEGORIES:
            coupon.categories.set([shop["categories"][case["category"]]])
        buyer = get_user_model().objects.create_user(username="buyer")
        coupons.claim(buyer, coupon)
        order = services.place_order(
            buyer,
            pairs,
            address=address,
            referral_code=shop["bob"].invite_code,
            coupon=case["choice"],
        )
        order = pay(order)
        accrue_commissions(order.pk)
        assert order.referral_chain[:2] == [shop["bob"].pk, shop["bob"].parent_id]
        assert_money_kept_straight(order)

        # when some units are refunded, a few times, and sometimes the rest
        for _step in range(data.draw(st.integers(0, 3), label="partial refunds")):
            left = refunds.refundable(order)
            if not left.everything:
                break
            quantities = {
                pk: data.draw(st.integers(0, qty), label=f"units of line {pk}")
                for pk, qty in sorted(left.everything.items())
            }
            quantities = {pk: qty for pk, qty in quantities.items() if qty}
            if not quantities:
                continue
            try:
                request = aftersale.request_refund(
                    order,
                    user=buyer,
                    kind=AfterSaleRequest.Kind.LINES,
                    reason="damaged",
                    quantities=quantities,
                )
            except aftersale.AfterSaleError:
                # only units whose share of the paid amount rounds to 0.00 are refused
                assert aftersale_worth(left, quantities, order) == ZERO
                continue
            aftersale.approve(request, actor=shop["staff"])
            # then nothing more than was paid ever comes back, and the ledger agrees
            assert_money_kept_straight(order)
        if order.status != Order.Status.REFUNDED and data.draw(st.booleans(), label="refund all"):
            left = refunds.refundable(order)
            try:
                request = aftersale.request_refund(
                    order, user=buyer, kind=AfterSaleRequest.Kind.WHOLE_ORDER, reason="damaged"
                )
            except aftersale.AfterSaleError:
                # what is left was paid 0.00 (a line the coupon took whole), shipping free
                assert aftersale_worth(left, left.everything, order) == ZERO
            else:
                aftersale.approve(request, actor=shop["staff"])
                assert_money_kept_straight(order)
                assert order.status == Order.Status.REFUNDED
        transaction.set_rollback(True)


def aftersale_worth(left, quantities, order) -> Decimal:
    """What the after-sale quote would give back for `quantities`, shipping included."""
    shipping = left.shipping if left.is_all(quantities) and order.shipped_at is None else ZERO
    return left.goods(quantities) + shipping
