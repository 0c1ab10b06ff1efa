"""A distributor's message centre on a phone: their commission and their withdrawal
come in as site messages, and the header's badge counts them without a reload."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from commissions import services as commission_services
from commissions import withdrawals
from commissions.models import CommissionPlan
from orders import services as order_services
from tests.orders.aftersale_helpers import pay, ship

from .conftest import WIDTHS
from .test_pages import PASSWORD, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_distributor_sees_their_commission_and_withdrawal_messages_arrive(
    open_page, screenshot, chain, shopper, make_variant, address
):
    carol = chain[2]
    carol.user.set_password(PASSWORD)
    carol.user.save()
    staff = get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)
    page = open_page(WIDTHS["phone"])
    log_in(page, carol.user.username)
    page.goto(reverse("notifications:list"))
    assert page.locator(".tab-badge[data-badge=total]").is_hidden()

    # an order through carol's link is paid: she earns her commission
    order = order_services.place_order(
        shopper,
        [(make_variant(price="100.00").pk, 1)],
        address=address,
        referral_code=carol.invite_code,
    )
    pay(order)  # eager here: accrued on commit
    badge = page.locator(".tab-badge[data-badge=total]")
    # badges.js refreshes the counts when the tab comes back into view
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    badge.wait_for(state="visible", timeout=40_000)

    # the order completes, the commission is released, she withdraws, staff pay it
    order_services.complete_order(ship(order, staff), actor=staff)
    commission_services.release_order_commissions(order.pk)
    CommissionPlan.objects.filter(is_active=True).update(min_withdrawal=Decimal("1.00"))
    withdrawal = withdrawals.request_withdrawal(
        carol,
        amount=Decimal("6.00"),
        method="alipay",
        account_name="陈小红",
        account_number="13800138000",
    )
    withdrawals.approve_withdrawal(withdrawal, reviewer=staff, payout_reference="T1")

    page.reload()
    titles = page.locator(".message-title").all_inner_texts()
    assert titles[:3] == [
        f"提现 #{withdrawal.pk} 已打款",
        "佣金 ¥10.00 已可提现",
        "新增佣金 ¥10.00",
    ]
    assert page.locator(".tab-badge[data-badge=total]").inner_text() == "3"
    screenshot(page, "message-centre-distributor-phone")
