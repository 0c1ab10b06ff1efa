"""The one refund service: the merchant's full refund and an after-sale refund do the same."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from catalog.models import StockMovement, Variant
from commissions.models import Commission, LedgerEntry
from commissions.services import accrue_commissions
from orders import aftersale, refunds
from orders import services as order_services
from orders.models import Order
from payments import reconciliation
from payments import services as payment_services
from payments.models import Payment, Refund

from .aftersale_helpers import pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def place(chain, make_user, make_variant, address):
    """place(): a paid order through carol's link: 2 × 40.00 and 1 × 60.00 + 10.00 shipping.

    Its accrual task waits for a commit that never comes in these tests, as when
    the worker is slow: the refund must accrue first to have something to reverse.
    """
    buyer = make_user("buyer")

    def place_one():
        order = order_services.place_order(
            buyer,
            [(make_variant(price="40.00").pk, 2), (make_variant(price="60.00").pk, 1)],
            address=address,
            referral_code=chain[2].invite_code,
        )
        return pay(order)

    return place_one


def effects(order: Order) -> dict:
    """What a refund leaves behind that staff, the shopper or a distributor would see."""
    order.refresh_from_db()
    variants = order.lines.order_by("pk").values_list("variant_id", flat=True)
    return {
        "status": order.status,
        "refunded_total": order.refunded_total,
        "stock": [Variant.objects.get(pk=pk).stock for pk in variants],
        "returned": StockMovement.objects.filter(reference=order.number, kind="returned").count(),
        "refunds": list(
            Refund.objects.filter(payment__order=order).values_list("amount", "status")
        ),
        "payment": Payment.objects.get(order=order, status__in=["succeeded", "refunded"]).status,
        "commissions": sorted(
            Commission.objects.filter(order=order).values_list(
                "distributor__user__username", "amount", "reversed_amount", "status"
            )
        ),
        "ledger": sorted(
            LedgerEntry.objects.filter(commission__order=order).values_list(
                "distributor__user__username", "kind", "pending", "available"
            )
        ),
    }


def test_the_admin_full_refund_and_a_whole_after_sale_refund_have_the_same_effects(
    place, admin_client, admin_user
):
    # given two equal paid orders, neither accrued yet
    by_merchant, by_shopper = place(), place()

    # when the merchant refunds one in full from the order list
    admin_client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "refund_orders", ACTION_CHECKBOX_NAME: [by_merchant.pk]},
    )
    # and staff approve the shopper's whole-order request for the other
    request = aftersale.request_refund(
        by_shopper, user=by_shopper.user, kind="whole", reason="damaged"
    )
    aftersale.approve(request, actor=admin_user)

    # then both gave everything back, restocked, and took back every commission
    merchant, shopper = effects(by_merchant), effects(by_shopper)
    assert merchant == shopper
    assert merchant["status"] == Order.Status.REFUNDED
    assert merchant["refunded_total"] == Decimal("150.00")
    assert merchant["stock"] == [10, 10] and merchant["payment"] == "refunded"
    assert {kind for _who, kind, *_money in merchant["ledger"]} == {"accrued", "reversed"}
    assert all(status == "reversed" for *_rest, status in merchant["commissions"])
    assert len(merchant["commissions"]) == 2  # carol and bob earned, then gave it back


def test_the_admin_full_refund_accrues_first_and_the_late_task_adds_nothing(place, admin_client):
    order = place()
    assert not Commission.objects.filter(order=order).exists()

    admin_client.post(
        reverse("admin:orders_order_changelist"),
        {"action": "refund_orders", ACTION_CHECKBOX_NAME: [order.pk]},
    )

    carol_earned = Commission.objects.get(order=order, distributor__user__username="carol")
    assert carol_earned.amount == Decimal("14.00")  # 10% of 140.00 of goods
    assert carol_earned.reversed_amount == carol_earned.amount
    accrue_commissions(order.pk)  # the accrual task arrives late
    assert Commission.objects.filter(order=order).count() == 2
    assert sum(LedgerEntry.objects.values_list("pending", flat=True)) == Decimal("0.00")


def test_a_full_refund_after_a_partial_one_reverses_the_rest_of_the_commissions(place, admin_user):
    order = place()
    forty = order.lines.get(unit_price=Decimal("40.00"))
    aftersale.approve(
        aftersale.request_refund(
            order, user=order.user, kind="lines", reason="damaged", quantities={forty.pk: 1}
        ),
        actor=admin_user,
        restock=False,
    )
    carol = Commission.objects.get(order=order, distributor__user__username="carol")
    carol.refresh_from_db()
    assert carol.reversed_amount == Decimal("4.00")  # 40.00 of 140.00 of goods

    refunds.refund_order(order, actor=admin_user, reason="merchant")

    carol.refresh_from_db()
    order.refresh_from_db()
    assert (carol.reversed_amount, carol.status) == (carol.amount, "reversed")
    assert order.refunded_total == order.total == Decimal("150.00")
    assert [r.amount for r in Refund.objects.order_by("pk")] == [
        Decimal("40.00"),
        Decimal("110.00"),
    ]
    forty_stock = Variant.objects.get(pk=forty.variant_id).stock
    assert forty_stock == 9  # the one not restocked by the after-sale stays out; 1 came back


def test_nothing_is_refunded_of_an_order_already_refunded(place, admin_user):
    order = place()
    refunds.refund_order(order, actor=admin_user)

    with pytest.raises(refunds.RefundError):
        refunds.refund_order(order, actor=admin_user)

    assert Refund.objects.count() == 1


@pytest.fixture
def paid_by_wechat(fake_wechatpay, shopper, make_variant, address):
    """An order of 2 × 50.00 paid through WeChat Pay, which finishes refunds later."""
    order = order_services.place_order(
        shopper, [(make_variant(price="50.00").pk, 2)], address=address
    )
    payment = payment_services.start_payment(order, gateway_code="wechat", channel="native")
    payment_services.open_checkout(
        payment, request=RequestFactory().get("/"), return_url="http://testserver/back/"
    )
    fake_wechatpay.pay(payment.reference, deliver=False)
    assert reconciliation.query_payment(payment) == "paid"
    return Order.objects.get(pk=order.pk)


def test_a_refund_wechat_finishes_later_changes_the_order_once(
    fake_wechatpay, paid_by_wechat, admin_user
):
    # given a refund WeChat Pay accepted and will finish later
    order = paid_by_wechat
    request = aftersale.request_refund(
        order,
        user=order.user,
        kind="lines",
        reason="damaged",
        quantities={order.lines.get().pk: 1},
    )
    aftersale.approve(request, actor=admin_user)
    refund = Refund.objects.get(after_sale=request)
    assert refund.status == Refund.Status.PROCESSING
    before = effects(order)
    assert (before["status"], before["refunded_total"], before["stock"]) == (
        Order.Status.PARTIALLY_REFUNDED,
        Decimal("50.00"),
        [9],
    )

    # when its result is learnt by the reconciliation query
    fake_wechatpay.refunds[refund.request_no]["status"] = "SUCCESS"
    Refund.objects.filter(pk=refund.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    assert reconciliation.query_in_flight()["settled"] == 1

    # then the money is back and the order is as the refund left it
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    after = effects(order)
    assert after == before | {"refunds": [(Decimal("50.00"), "succeeded")]}
    assert order.events.filter(to_status="partially_refunded").count() == 1
