"""Shipping settings (配送设置): one row edited in the admin, defaults from the old settings."""

from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from orders import services
from orders.models import Order, ShippingSettings


def test_the_first_row_takes_the_old_settings_as_defaults(db, settings):
    rules = ShippingSettings.get_solo()

    assert rules.flat_fee == settings.SHIPPING_FLAT_FEE
    assert rules.free_above == settings.SHIPPING_FREE_ABOVE
    assert rules.unpaid_timeout == settings.ORDER_PAYMENT_TIMEOUT


def test_the_fee_follows_what_staff_set(shopper, make_variant, address):
    ShippingSettings.objects.update_or_create(
        pk=1, defaults={"flat_fee": Decimal("12.50"), "free_above": Decimal("500.00")}
    )
    variant = make_variant(price="300.00")

    order = services.place_order(shopper, [(variant.pk, 1)], address=address)
    free = services.place_order(shopper, [(variant.pk, 2)], address=address)

    assert (order.shipping_fee, order.total) == (Decimal("12.50"), Decimal("312.50"))
    assert (free.shipping_fee, free.total) == (Decimal("0.00"), Decimal("600.00"))


def test_unpaid_orders_are_cancelled_after_the_timeout_staff_set(shopper, variant, address):
    ShippingSettings.objects.update_or_create(pk=1, defaults={"unpaid_timeout_minutes": 5})
    order = services.place_order(shopper, [(variant.pk, 1)], address=address)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(minutes=6))

    assert services.cancel_unpaid_orders() == 1


def test_the_admin_list_opens_the_one_row(admin_client):
    response = admin_client.get(reverse("admin:orders_shippingsettings_changelist"))

    assert response.status_code == 302
    assert response.url == reverse("admin:orders_shippingsettings_change", args=[1])
    assert admin_client.get(response.url).status_code == 200
