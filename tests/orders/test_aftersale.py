from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import StockMovement, Variant
from commissions.models import Commission
from commissions.services import accrue_commissions
from orders import aftersale, services
from orders.models import AfterSaleRequest, Order
from payments.models import Payment, Refund
from payments.services import PaymentError

from .aftersale_helpers import place_paid, ship

pytestmark = pytest.mark.django_db
WHOLE, LINES = AfterSaleRequest.Kind.WHOLE_ORDER, AfterSaleRequest.Kind.LINES


@pytest.fixture
def two_lines(shopper, make_variant, address):
    """A paid order: 2 × 30.00 and 1 × 50.00, plus 10.00 shipping = 120.00."""
    cheap, dear = make_variant(price="30.00"), make_variant(price="50.00")
    order = place_paid(shopper, [(cheap, 2), (dear, 1)], address)
    return order, order.lines.get(variant=cheap), order.lines.get(variant=dear)


def ask(order, user, kind=LINES, quantities=None, reason="damaged"):
    return aftersale.request_refund(
        order, user=user, kind=kind, reason=reason, quantities=quantities
    )


def test_a_whole_refund_of_an_unshipped_order_gives_back_everything_with_shipping(
    two_lines, shopper, admin_user
):
    order, cheap, dear = two_lines
    request = ask(order, shopper, kind=WHOLE)
    assert (request.goods_amount, request.shipping_amount, request.amount) == (
        Decimal("110.00"),
        Decimal("10.00"),
        Decimal("120.00"),
    )

    aftersale.approve(request, actor=admin_user, note="ok")

    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED and order.refunded_total == order.total
    assert Payment.objects.get(order=order).status == Payment.Status.REFUNDED
    assert Variant.objects.get(pk=cheap.variant_id).stock == 10  # restocked
    assert StockMovement.objects.filter(kind="returned", reference=order.number).count() == 2


def test_a_partial_refund_of_a_shipped_order_gives_back_the_goods_only(
    two_lines, shopper, admin_user
):
    order, cheap, dear = two_lines
    ship(order, admin_user)
    request = ask(order, shopper, quantities={cheap.pk: 1})
    assert (request.amount, request.shipping_amount) == (Decimal("30.00"), Decimal("0"))

    aftersale.approve(request, actor=admin_user, restock=False)

    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    assert order.refunded_total == Decimal("30.00")
    assert Refund.objects.get(after_sale=request).amount == Decimal("30.00")
    assert Variant.objects.get(pk=cheap.variant_id).stock == 8  # not restocked
    event = order.events.get(to_status="partially_refunded")
    assert event.actor == admin_user


def test_a_shipped_whole_refund_leaves_the_shipping_fee(two_lines, shopper, admin_user):
    order, *_ = two_lines
    ship(order, admin_user)
    assert ask(order, shopper, kind=WHOLE).amount == Decimal("110.00")


def test_one_open_request_at_a_time(two_lines, shopper):
    order, cheap, dear = two_lines
    ask(order, shopper, quantities={cheap.pk: 1})
    with pytest.raises(aftersale.AfterSaleError):
        ask(order, shopper, quantities={dear.pk: 1})
    assert AfterSaleRequest.objects.count() == 1


@pytest.mark.parametrize("quantity", [0, -1, 3])
def test_more_than_what_is_left_or_nothing_is_refused(two_lines, shopper, quantity):
    order, cheap, _dear = two_lines
    with pytest.raises(aftersale.AfterSaleError):
        ask(order, shopper, quantities={cheap.pk: quantity})
    assert not AfterSaleRequest.objects.exists()


def test_what_was_refunded_cannot_be_asked_again(two_lines, shopper, admin_user):
    order, cheap, dear = two_lines
    aftersale.approve(ask(order, shopper, quantities={cheap.pk: 2}), actor=admin_user)
    with pytest.raises(aftersale.AfterSaleError):
        ask(order, shopper, quantities={cheap.pk: 1})
    # The rest is still refundable, and refunding it closes the order as refunded.
    last = ask(order, shopper, kind=WHOLE)
    assert last.amount == Decimal("60.00")  # 50 goods + 10 shipping, still unshipped
    aftersale.approve(last, actor=admin_user)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED and order.refunded_total == Decimal("120.00")


def test_a_line_of_another_order_is_refused(two_lines, shopper, make_variant, address):
    order, *_ = two_lines
    other = place_paid(shopper, [(make_variant(), 1)], address)
    with pytest.raises(aftersale.AfterSaleError):
        ask(order, shopper, quantities={other.lines.get().pk: 1})


def test_someone_else_cannot_ask_for_my_order(two_lines, make_user):
    order, *_ = two_lines
    with pytest.raises(aftersale.AfterSaleError):
        ask(order, make_user("mallory"), kind=WHOLE)


def test_unpaid_or_cancelled_orders_cannot_be_refunded(shopper, variant, address):
    order = services.place_order(shopper, [(variant.pk, 1)], address=address)
    with pytest.raises(aftersale.AfterSaleError):
        ask(order, shopper, kind=WHOLE)
    services.cancel_order(order)
    with pytest.raises(aftersale.AfterSaleError):
        ask(order, shopper, kind=WHOLE)


def test_no_request_after_the_window(two_lines, shopper, admin_user, settings):
    settings.AFTER_SALE_DAYS = 7
    order, *_ = two_lines
    ship(order, admin_user)
    services.confirm_receipt(order, actor=shopper)
    Order.objects.filter(pk=order.pk).update(received_at=timezone.now() - timedelta(days=8))
    with pytest.raises(aftersale.AfterSaleError):
        ask(order, shopper, kind=WHOLE)


def test_approving_twice_refunds_once(two_lines, shopper, admin_user):
    order, cheap, _dear = two_lines
    request = ask(order, shopper, quantities={cheap.pk: 1})
    aftersale.approve(request, actor=admin_user)
    with pytest.raises(aftersale.AfterSaleError):
        aftersale.approve(request, actor=admin_user)
    assert Refund.objects.count() == 1
    order.refresh_from_db()
    assert order.refunded_total == Decimal("30.00")


def test_a_rejected_request_needs_a_note_and_changes_no_money(two_lines, shopper, admin_user):
    order, cheap, _dear = two_lines
    request = ask(order, shopper, quantities={cheap.pk: 1})
    with pytest.raises(aftersale.AfterSaleError):
        aftersale.reject(request, actor=admin_user, note="  ")

    aftersale.reject(request, actor=admin_user, note="used item")

    request.refresh_from_db()
    assert (request.status, request.decided_by, request.decision_note) == (
        "rejected",
        admin_user,
        "used item",
    )
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and not Refund.objects.exists()
    with pytest.raises(aftersale.AfterSaleError):
        aftersale.approve(request, actor=admin_user)  # decided already


def test_a_refund_the_payment_cannot_take_changes_nothing(two_lines, shopper, admin_user):
    order, cheap, _dear = two_lines
    request = ask(order, shopper, quantities={cheap.pk: 1})
    Payment.objects.filter(order=order).update(amount=Decimal("20.00"))  # less than asked

    with pytest.raises(PaymentError):
        aftersale.approve(request, actor=admin_user)

    request.refresh_from_db()
    order.refresh_from_db()
    assert request.status == "requested" and order.status == Order.Status.PAID
    assert not Refund.objects.exists() and order.refunded_total == 0


def test_an_open_request_holds_completion(two_lines, shopper, admin_user, settings):
    settings.AFTER_SALE_DAYS = 7
    order, cheap, _dear = two_lines
    ship(order, admin_user)
    services.confirm_receipt(order, actor=shopper)
    request = ask(order, shopper, quantities={cheap.pk: 1})
    later = timezone.now() + timedelta(days=8)

    assert services.complete_orders_past_after_sale(now=later) == 0
    with pytest.raises(services.OrderError):
        services.complete_order(order, actor=admin_user)

    aftersale.approve(request, actor=admin_user)
    assert services.complete_orders_past_after_sale(now=later) == 1
    order.refresh_from_db()
    assert order.status == Order.Status.COMPLETED  # a partially refunded order completes


def test_commissions_follow_partial_refunds_in_proportion(
    chain, make_user, make_variant, address, admin_user
):
    # given an order of 100.00 goods through carol's link (10% level 1, the default plan)
    carol = chain[2]
    buyer = make_user("buyer")
    order = services.place_order(
        buyer,
        [(make_variant(price="40.00").pk, 1), (make_variant(price="60.00").pk, 1)],
        address=address,
        referral_code=carol.invite_code,
    )
    from .aftersale_helpers import pay

    pay(order)
    accrue_commissions(order.pk)
    level1 = Commission.objects.get(order=order, distributor=carol)
    forty = order.lines.get(unit_price=Decimal("40.00"))

    # when 40.00 of goods are refunded
    aftersale.approve(ask(order, buyer, quantities={forty.pk: 1}), actor=admin_user)

    # then 40% of the commission is reversed, and the rest when all is refunded
    level1.refresh_from_db()
    assert level1.reversed_amount == (level1.amount * Decimal("0.4")).quantize(Decimal("0.01"))
    aftersale.approve(ask(order, buyer, kind=WHOLE), actor=admin_user)
    level1.refresh_from_db()
    assert level1.reversed_amount == level1.amount and level1.status == "reversed"


def test_a_partial_refund_before_accrual_ran_still_reverses_in_proportion(
    chain, make_user, make_variant, address, admin_user
):
    carol = chain[2]
    buyer = make_user("buyer")
    order = services.place_order(
        buyer,
        [(make_variant(price="40.00").pk, 1), (make_variant(price="60.00").pk, 1)],
        address=address,
        referral_code=carol.invite_code,
    )
    from .aftersale_helpers import pay

    pay(order)  # the accrual task waits for a commit that never comes in this test
    forty = order.lines.get(unit_price=Decimal("40.00"))

    aftersale.approve(ask(order, buyer, quantities={forty.pk: 1}), actor=admin_user)

    level1 = Commission.objects.get(order=order, distributor=carol)
    assert level1.reversed_amount == (level1.amount * Decimal("0.4")).quantize(Decimal("0.01"))
    accrue_commissions(order.pk)  # the late task changes nothing
    assert Commission.objects.filter(order=order).count() == 2
