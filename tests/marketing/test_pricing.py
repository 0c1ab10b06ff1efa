"""Discounts to the fen: sale prices, one coupon spread over its lines, gifts, and what
refunds and commissions make of the paid amounts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import StockMovement, Variant
from marketing import coupons, pricing
from marketing.models import Coupon, CouponClaim, GiftRule, TimedDiscount
from orders import aftersale, services
from orders.models import AfterSaleRequest, Order
from tests.orders.aftersale_helpers import pay

D = Decimal


def test_a_discount_is_spread_in_proportion_with_the_remainder_on_the_largest_line():
    shares = pricing.allocate(D("10.00"), [D("30.00"), D("30.00"), D("40.00")])

    assert shares == [D("3.00"), D("3.00"), D("4.00")]
    # 1.00 over three equal lines: 0.33 each, the fen left goes on the first largest
    assert pricing.allocate(D("1.00"), [D("5.00")] * 3) == [D("0.34"), D("0.33"), D("0.33")]


def test_a_share_never_exceeds_its_line():
    # rounding down leaves 0.02; the largest line is full, so the next ones take it
    assert pricing.allocate(D("2.99"), [D("1.00")] * 3) == [D("1.00"), D("1.00"), D("0.99")]


def test_an_order_keeps_list_price_shares_and_paid_amount_of_each_line(
    shopper, make_variant, address, coupon
):
    tea, wine = make_variant(price="30.00", stock=5), make_variant(price="70.00", stock=5)
    sale = TimedDiscount.objects.create(
        name="秒杀",
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    sale.items.create(variant=wine, price=D("60.00"))
    claim = coupons.claim(shopper, coupon)

    order = services.place_order(
        shopper, [(tea.pk, 1), (wine.pk, 2)], address=address, coupon=pricing.BEST
    )

    tea_line, wine_line = order.lines.order_by("variant_id")
    assert (tea_line.unit_price, tea_line.sale_discount) == (D("30.00"), D("0.00"))
    assert (wine_line.unit_price, wine_line.sale_discount) == (D("70.00"), D("20.00"))
    # 20.00 off 150.00 of goods in proportion: 30/150 and 120/150
    assert (tea_line.coupon_discount, wine_line.coupon_discount) == (D("4.00"), D("16.00"))
    assert (tea_line.paid_amount, wine_line.paid_amount) == (D("26.00"), D("104.00"))
    assert order.subtotal == D("130.00")
    assert (order.sale_discount, order.coupon_discount) == (D("20.00"), D("20.00"))
    claim.refresh_from_db()
    assert claim.order == order


def test_a_coupon_comes_back_when_its_unpaid_order_is_cancelled_not_after_a_refund(
    shopper, variant, address, coupon, admin_user
):
    variant.price = D("120.00")
    variant.save()
    claim = coupons.claim(shopper, coupon)
    order = services.place_order(shopper, [(variant.pk, 1)], address=address, coupon=claim.pk)

    services.cancel_order(order, reason="changed mind")

    claim.refresh_from_db()
    assert claim.state() == CouponClaim.State.USABLE
    paid = pay(services.place_order(shopper, [(variant.pk, 1)], address=address, coupon=claim.pk))
    request = aftersale.request_refund(
        paid, user=shopper, kind=AfterSaleRequest.Kind.WHOLE_ORDER, reason="damaged"
    )
    aftersale.approve(request, actor=admin_user)
    claim.refresh_from_db()
    assert claim.state() == CouponClaim.State.USED


def test_a_partial_refund_gives_back_the_paid_amount_of_the_lines(
    shopper, make_variant, address, coupon, admin_user
):
    tea, wine = make_variant(price="50.00", stock=5), make_variant(price="50.00", stock=5)
    coupons.claim(shopper, coupon)
    order = pay(
        services.place_order(
            shopper, [(tea.pk, 3), (wine.pk, 1)], address=address, coupon=pricing.BEST
        )
    )
    tea_line = order.lines.get(variant=tea)
    assert tea_line.paid_amount == D("135.00")  # 150.00 less 3/4 of 20.00

    quotes = [
        aftersale.quote(order, AfterSaleRequest.Kind.LINES, {tea_line.pk: 1}).goods,
    ]
    request = aftersale.request_refund(
        order,
        user=shopper,
        kind=AfterSaleRequest.Kind.LINES,
        reason="damaged",
        quantities={tea_line.pk: 1},
    )
    aftersale.approve(request, actor=admin_user)
    order.refresh_from_db()
    quotes.append(aftersale.quote(order, AfterSaleRequest.Kind.LINES, {tea_line.pk: 2}).goods)

    assert quotes == [D("45.00"), D("90.00")]  # the line gives back its paid 135.00, no more


def test_a_coupon_below_its_threshold_or_out_of_scope_is_refused(
    shopper, make_variant, address, coupon, category
):
    cheap = make_variant(price="99.00")
    claim = coupons.claim(shopper, coupon)  # 满100减20

    with pytest.raises(pricing.CouponError, match=r"¥1\.00"):
        services.place_order(shopper, [(cheap.pk, 1)], address=address, coupon=claim.pk)

    other = Coupon.objects.create(
        name="other",
        kind=Coupon.Kind.NO_THRESHOLD,
        amount=D("5.00"),
        scope=Coupon.Scope.PRODUCTS,
        valid_from=coupon.valid_from,
        valid_until=coupon.valid_until,
    )
    other.products.add(make_variant(price="10.00").product)
    scoped = coupons.claim(shopper, other)
    with pytest.raises(pricing.CouponError):
        services.place_order(shopper, [(cheap.pk, 1)], address=address, coupon=scoped.pk)
    assert not Order.objects.exists()
    assert not CouponClaim.objects.filter(order__isnull=False).exists()


def test_a_gift_is_a_line_at_zero_taken_from_stock_and_missed_without_stock(
    shopper, make_variant, address
):
    wine = make_variant(price="200.00", stock=5)
    glass = make_variant(price="20.00", stock=1)
    GiftRule.objects.create(
        name="满199送酒杯", threshold=D("199.00"), gift=glass, starts_at=timezone.now()
    )

    first = services.place_order(shopper, [(wine.pk, 1)], address=address)
    second = services.place_order(shopper, [(wine.pk, 1)], address=address)

    gift = first.lines.get(is_gift=True)
    assert (gift.variant_id, gift.paid_amount, gift.line_total) == (glass.pk, D("0"), D("0"))
    assert Variant.objects.get(pk=glass.pk).stock == 0
    assert StockMovement.objects.filter(variant=glass, reference=first.number).exists()
    assert not second.lines.filter(is_gift=True).exists()
    assert [rule.name for rule in second.missed_gifts] == ["满199送酒杯"]
