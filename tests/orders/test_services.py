from decimal import Decimal

import pytest

from catalog.models import Variant
from orders import services
from orders.models import Order, OrderEvent

pytestmark = pytest.mark.django_db


def test_order_prices_and_snapshot_come_from_the_database(shopper, make_variant, address):
    v1 = make_variant(price="120.00", stock=5)
    v2 = make_variant(price="50.50", stock=5)

    order = services.place_order(shopper, [(v1.pk, 2), (v2.pk, 1)], address=address)

    assert order.subtotal == Decimal("290.50")
    assert order.shipping_fee == Decimal("0.00")  # free above 199
    assert order.total == Decimal("290.50")
    line = order.lines.get(variant=v1)
    assert (line.sku, line.unit_price, line.quantity, line.line_total) == (
        v1.sku,
        Decimal("120.00"),
        2,
        Decimal("240.00"),
    )


def test_small_order_pays_the_flat_shipping_fee(shopper, make_variant, address):
    order = services.place_order(shopper, [(make_variant(price="68.00").pk, 1)], address=address)
    assert (order.shipping_fee, order.total) == (Decimal("10.00"), Decimal("78.00"))


def test_placing_an_order_takes_the_stock(shopper, variant, address):
    services.place_order(shopper, [(variant.pk, 3)], address=address)
    variant.refresh_from_db()
    assert variant.stock == 7


@pytest.mark.parametrize("quantity", [0, -1])
def test_non_positive_quantity_is_refused_and_changes_nothing(shopper, variant, address, quantity):
    with pytest.raises(services.OrderError):
        services.place_order(shopper, [(variant.pk, quantity)], address=address)
    variant.refresh_from_db()
    assert variant.stock == 10
    assert not Order.objects.exists()


def test_more_than_the_stock_is_refused_and_changes_nothing(shopper, make_variant, address):
    plenty, scarce = make_variant(stock=10), make_variant(stock=2)
    with pytest.raises(services.OutOfStock) as excinfo:
        services.place_order(shopper, [(plenty.pk, 1), (scarce.pk, 3)], address=address)
    assert excinfo.value.available == 2
    assert Variant.objects.get(pk=plenty.pk).stock == 10  # rolled back with the rest
    assert not Order.objects.exists()


def test_unknown_or_inactive_variant_is_refused(shopper, make_variant, address):
    inactive = make_variant(is_active=False)
    for lines in ([(999_999, 1)], [(inactive.pk, 1)]):
        with pytest.raises(services.VariantUnavailable):
            services.place_order(shopper, lines, address=address)
    assert not Order.objects.exists()


def test_replaying_a_checkout_token_returns_the_same_order(shopper, variant, address):
    token = services.new_checkout_token()
    first = services.place_order(shopper, [(variant.pk, 1)], address=address, checkout_token=token)
    again = services.place_order(shopper, [(variant.pk, 1)], address=address, checkout_token=token)
    assert again.pk == first.pk
    variant.refresh_from_db()
    assert variant.stock == 9


def test_order_remembers_the_referral_chain_when_placed(shopper, variant, address, chain):
    alice, bob, carol = chain
    order = services.place_order(
        shopper, [(variant.pk, 1)], address=address, referral_code=carol.invite_code
    )
    assert order.distributor == carol
    assert order.referral_chain == [carol.pk, bob.pk, alice.pk]


def test_a_distributor_buying_through_their_own_link_buys_as_their_recruiters_customer(
    variant, address, chain
):
    # the default plan pays no self-purchase commission, and credits the recruiter instead
    alice, bob, carol = chain
    order = services.place_order(
        carol.user, [(variant.pk, 1)], address=address, referral_code=carol.invite_code
    )
    assert order.distributor == bob
    assert order.referral_chain == [bob.pk, alice.pk]


def test_state_machine_records_every_transition_with_its_actor(
    shopper, variant, address, admin_user
):
    order = services.place_order(shopper, [(variant.pk, 1)], address=address)
    services.mark_paid(order)
    services.ship_order(order, carrier="顺丰", tracking_number="SF123", actor=admin_user)
    services.complete_order(order, actor=admin_user)

    events = list(OrderEvent.objects.filter(order=order).values_list("to_status", "actor"))
    assert events == [
        ("pending_payment", shopper.pk),
        ("paid", None),
        ("shipped", admin_user.pk),
        ("completed", admin_user.pk),
    ]


def test_shipping_a_cancelled_order_is_refused(shopper, variant, address, admin_user):
    order = services.place_order(shopper, [(variant.pk, 1)], address=address)
    services.cancel_order(order)
    with pytest.raises(services.InvalidTransition):
        services.ship_order(order, carrier="顺丰", tracking_number="SF1", actor=admin_user)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and order.tracking_number == ""


def test_paying_twice_is_refused(shopper, variant, address):
    order = services.place_order(shopper, [(variant.pk, 1)], address=address)
    services.mark_paid(order)
    with pytest.raises(services.InvalidTransition):
        services.mark_paid(order)
    assert order.events.filter(to_status="paid").count() == 1


def test_cancelling_an_unpaid_order_returns_its_stock(shopper, variant, address):
    order = services.place_order(shopper, [(variant.pk, 4)], address=address)
    services.cancel_order(order, reason="changed my mind")
    variant.refresh_from_db()
    assert variant.stock == 10


def test_unpaid_orders_are_cancelled_after_the_timeout(shopper, variant, address, settings):
    from django.utils import timezone

    stale = services.place_order(shopper, [(variant.pk, 1)], address=address)
    fresh = services.place_order(shopper, [(variant.pk, 1)], address=address)
    Order.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - settings.ORDER_PAYMENT_TIMEOUT * 2
    )

    assert services.cancel_unpaid_orders() == 1

    stale.refresh_from_db()
    fresh.refresh_from_db()
    variant.refresh_from_db()
    assert (stale.status, fresh.status) == ("cancelled", "pending_payment")
    assert variant.stock == 9
