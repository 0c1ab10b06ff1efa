from decimal import Decimal

import pytest

from catalog.models import Variant
from orders import aftersale, refunds
from orders.models import AfterSaleRequest, Order
from payments import services
from payments.gateways import get_gateway
from payments.models import Payment, Refund
from tests.orders.aftersale_helpers import place_paid

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(shopper, make_variant, address):
    return place_paid(shopper, [(make_variant(price="100.00"), 3)], address)


def test_the_sandbox_answers_a_repeated_refund_request_with_the_same_refund(paid):
    payment = Payment.objects.get(order=paid)
    gateway = get_gateway("sandbox")
    first = gateway.refund(payment, Decimal("10.00"), "test", request_no="A-R01")
    assert first == gateway.refund(payment, Decimal("10.00"), "test", request_no="A-R01")
    assert first != gateway.refund(payment, Decimal("10.00"), "test", request_no="A-R02")


def test_each_refund_of_a_payment_has_its_own_request_number(paid, admin_user):
    payment = Payment.objects.get(order=paid)
    services.refund_payment(payment, Decimal("10.00"), reason="one", actor=admin_user)
    services.refund_payment(payment, Decimal("20.00"), reason="two", actor=admin_user)
    numbers = list(payment.refunds.order_by("pk").values_list("request_no", flat=True))
    assert numbers == [f"{payment.reference}-R01", f"{payment.reference}-R02"]


def test_partial_refunds_add_up_and_the_last_marks_the_payment_refunded(paid, admin_user):
    payment = Payment.objects.get(order=paid)
    services.refund_payment(payment, Decimal("100.00"), reason="one", actor=admin_user)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED

    services.refund_payment(payment, Decimal("200.00"), reason="rest", actor=admin_user)

    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED and payment.refunded_at
    assert services.refunded_amount(payment) == payment.amount


@pytest.mark.parametrize("amount", ["0", "-1", "300.01"])
def test_refunding_nothing_or_more_than_paid_is_refused(paid, amount):
    payment = Payment.objects.get(order=paid)
    with pytest.raises(services.PaymentError):
        services.refund_payment(payment, Decimal(amount), reason="x")
    assert not Refund.objects.exists()


def test_a_full_refund_after_a_partial_one_gives_back_only_the_rest(paid, shopper, admin_user):
    line = paid.lines.get()
    request = aftersale.request_refund(
        paid,
        user=shopper,
        kind=AfterSaleRequest.Kind.LINES,
        reason="damaged",
        quantities={line.pk: 1},
    )
    aftersale.approve(request, actor=admin_user)  # 100.00 back, 1 restocked

    refunds.refund_order(paid, actor=admin_user, reason="merchant")

    paid.refresh_from_db()
    assert paid.status == Order.Status.REFUNDED and paid.refunded_total == Decimal("300.00")
    assert [r.amount for r in Refund.objects.order_by("pk")] == [
        Decimal("100.00"),
        Decimal("200.00"),
    ]
    assert Variant.objects.get(pk=line.variant_id).stock == 10  # 1 + 2 back, never 4
