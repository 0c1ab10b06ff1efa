"""Fixtures shared by the payments tests: a shopper's unpaid order and its sandbox payment."""

import pytest

from orders import services as order_services
from payments import services


@pytest.fixture
def order(shopper, variant, address):
    """An order of the shopper's, awaiting payment."""
    return order_services.place_order(shopper, [(variant.pk, 1)], address=address)


@pytest.fixture
def payment(order):
    """The sandbox payment opened for `order`."""
    return services.start_payment(order, gateway_code="sandbox")


@pytest.fixture
def signed_in(client, shopper):
    client.force_login(shopper)
    return client
