"""Payments over their life: replays, cancelled orders, refunds that finish later."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse

from orders import services as order_services
from orders.models import Order
from payments import services
from payments.gateways import RefundResult, sandbox
from payments.gateways import base as states
from payments.models import Payment, PaymentNotification, Refund
from tests.orders.aftersale_helpers import place_paid

pytestmark = pytest.mark.django_db
NOTIFY = reverse("payments:notify", args=["sandbox"])


def test_a_replayed_notification_id_is_a_duplicate_and_kept_for_audit(client, payment):
    payload = sandbox.build_notification(payment)
    client.post(NOTIFY, payload)
    assert client.post(NOTIFY, payload).content == b"success"
    outcomes = list(
        PaymentNotification.objects.filter(payment=payment)
        .order_by("pk")
        .values_list("outcome", "notification_id")
    )
    assert outcomes == [("paid", payload["notify_id"]), ("duplicate", "")]


def test_cancelling_an_order_closes_the_payments_opened_at_the_gateway(
    payment, django_capture_on_commit_callbacks
):
    Payment.objects.filter(pk=payment.pk).update(started_at=payment.created_at)
    with django_capture_on_commit_callbacks(execute=True):
        order_services.cancel_order(payment.order, reason="shopper cancelled")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CLOSED and payment.closed_at


def test_money_arriving_for_a_closed_payment_goes_back_at_once(client, payment):
    Payment.objects.filter(pk=payment.pk).update(started_at=payment.created_at)
    order_services.cancel_order(payment.order, reason="payment timeout")
    response = client.post(NOTIFY, sandbox.build_notification(payment))
    assert response.content == b"success"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert payment.refunds.get().amount == payment.amount
    payment.order.refresh_from_db()
    assert payment.order.status == Order.Status.CANCELLED


def test_a_verified_notification_we_refuse_is_kept_for_finance(client, payment):
    payment.amount = Decimal("1.00")
    client.post(NOTIFY, sandbox.build_notification(payment))
    record = PaymentNotification.objects.get()
    assert record.outcome.startswith("refused") and record.payment_id == payment.pk


@pytest.fixture
def paid(shopper, make_variant, address):
    return Payment.objects.get(
        order=place_paid(shopper, [(make_variant(price="100.00"), 2)], address)
    )


def _processing(payment, amount="50.00", number="01"):
    return Refund.objects.create(
        payment=payment,
        amount=Decimal(amount),
        request_no=f"{payment.reference}-R{number}",
        status=Refund.Status.PROCESSING,
    )


def test_a_refund_in_flight_counts_against_what_is_left_but_not_as_given_back(paid):
    _processing(paid, "200.00")
    assert services.refunded_amount(paid) == paid.amount
    paid.refresh_from_db()
    assert paid.status == Payment.Status.SUCCEEDED
    with pytest.raises(services.PaymentError):
        services.refund_payment(paid, Decimal("0.01"), reason="more")


def test_a_refund_notification_of_success_finishes_the_refund(paid):
    refund = _processing(paid, "200.00")
    result = RefundResult(request_no=refund.request_no, state=states.SUCCEEDED)
    assert services.settle_refund("sandbox", result) == "refunded"
    assert services.settle_refund("sandbox", result) == "duplicate"
    refund.refresh_from_db()
    paid.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED and refund.succeeded_at
    assert paid.status == Payment.Status.REFUNDED


def test_a_failed_refund_gives_nothing_back_and_can_be_tried_again(paid, admin_user):
    refund = _processing(paid, "200.00")
    services.settle_refund(
        "sandbox",
        RefundResult(request_no=refund.request_no, state=states.CLOSED, reason="card closed"),
    )
    refund.refresh_from_db()
    assert (refund.status, refund.failure_reason) == (Refund.Status.FAILED, "card closed")
    assert services.refunded_amount(paid) == Decimal("0.00")
    again = services.retry_failed_refund(refund, actor=admin_user)
    assert again.request_no == f"{paid.reference}-R02" and again.status == Refund.Status.SUCCEEDED


def test_a_refund_result_for_a_number_we_never_asked_for_is_refused(paid):
    with pytest.raises(services.UnknownPayment):
        services.settle_refund("sandbox", RefundResult(request_no="NOPE-R01", state="succeeded"))
    assert not PaymentNotification.objects.filter(kind="refund").exists()


def test_a_failed_refund_is_tried_again_once_however_often_staff_ask(paid, admin_user):
    # given: 50.00 of 200.00 failed to go back (the rest would still allow more refunds)
    refund = _processing(paid, "50.00")
    services.settle_refund(
        "sandbox", RefundResult(request_no=refund.request_no, state=states.CLOSED, reason="x")
    )
    services.retry_failed_refund(refund, actor=admin_user)

    # when: someone asks again
    with pytest.raises(services.PaymentError):
        services.retry_failed_refund(refund, actor=admin_user)

    # then: the money went back once
    assert services.refunded_amount(paid) == Decimal("50.00")
    refund.refresh_from_db()
    assert refund.retried_as.request_no == f"{paid.reference}-R02"


def test_a_refund_stuck_at_the_gateway_stays_processing_with_the_reason_then_finishes(paid):
    refund = _processing(paid, "200.00")
    stuck = RefundResult(request_no=refund.request_no, state=states.PENDING, reason="ABNORMAL")

    assert services.settle_refund("sandbox", stuck) == "processing"
    refund.refresh_from_db()
    assert (refund.status, refund.failure_reason) == (Refund.Status.PROCESSING, "ABNORMAL")

    done = RefundResult(request_no=refund.request_no, state=states.SUCCEEDED)
    assert services.settle_refund("sandbox", done) == "refunded"
    paid.refresh_from_db()
    assert paid.status == Payment.Status.REFUNDED


def test_staff_retry_a_failed_refund_from_the_admin_once(paid, admin_client):
    # given: a refund the gateway refused
    refund = _processing(paid, "200.00")
    services.settle_refund(
        "sandbox", RefundResult(request_no=refund.request_no, state=states.CLOSED, reason="x")
    )
    changelist = reverse("admin:payments_refund_changelist")

    # when: the action is run twice over it
    for _ in range(2):
        response = admin_client.post(
            changelist, {"action": "retry", ACTION_CHECKBOX_NAME: [refund.pk]}
        )
        assert response.status_code == 302

    # then: asked again once, under the next number
    refund.refresh_from_db()
    assert refund.retried_as.request_no == f"{paid.reference}-R02"
    assert paid.refunds.count() == 2


def test_only_staff_who_may_add_refunds_are_offered_the_retry(rf, make_user):
    clerk = make_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_refund"))
    request = rf.get("/")
    request.user = clerk
    refund_admin = admin.site._registry[Refund]
    assert "retry" not in refund_admin.get_actions(request)

    finance = make_user("finance", is_staff=True)
    finance.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_refund", "add_refund"])
    )
    request.user = finance
    assert "retry" in refund_admin.get_actions(request)
