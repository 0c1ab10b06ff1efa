"""Automatic payouts: an approved withdrawal is paid by the gateway's transfer API, once.

Against the local fakes of Alipay (单笔转账) and WeChat Pay (商家转账), through
the services, the admin action, the worker task (eager here) and the poller.
"""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import WeChatIdentity
from commissions import withdrawals
from commissions.models import LedgerEntry, PayoutSettings, Withdrawal
from commissions.selectors import earnings_summary
from payments.models import Transfer

from .helpers import withdraw

pytestmark = pytest.mark.django_db
ALIPAY_ACCOUNT = "13800138000"


@pytest.fixture
def automatic(fake_alipay):
    PayoutSettings.objects.update_or_create(pk=1, defaults={"alipay_automatic": True})
    fake_alipay.accounts[ALIPAY_ACCOUNT] = "陈小红"
    return fake_alipay


def pay_now(withdrawal, reviewer, capture):
    with capture(execute=True):
        withdrawals.start_payout(withdrawal, reviewer=reviewer)
    withdrawal.refresh_from_db()
    return withdrawal


def test_an_approved_alipay_withdrawal_is_paid_by_transfer_and_the_hold_spent(
    carol, reviewer, automatic, django_capture_on_commit_callbacks
):
    withdrawal = withdraw(carol, "60.00")

    withdrawal = pay_now(withdrawal, reviewer, django_capture_on_commit_callbacks)

    assert withdrawal.status == Withdrawal.Status.PAID
    assert (withdrawal.reviewer, withdrawal.reviewed_at is not None) == (reviewer, True)
    sent = automatic.transfers[withdrawal.payout_bill_no]
    assert (Decimal(sent["trans_amount"]), sent["name"]) == (
        withdrawal.net_amount,
        "陈小红",
    )
    assert withdrawal.payout_reference == sent["order_id"]
    summary = earnings_summary(carol)
    assert (summary.available, summary.held) == (Decimal("40.00"), Decimal("0.00"))


def test_a_transfer_alipay_refuses_returns_the_hold_with_alipays_reason(
    carol, reviewer, automatic, django_capture_on_commit_callbacks, client
):
    automatic.accounts[ALIPAY_ACCOUNT] = "王大明"  # the account belongs to someone else
    withdrawal = withdraw(carol, "60.00")

    withdrawal = pay_now(withdrawal, reviewer, django_capture_on_commit_callbacks)

    assert withdrawal.status == Withdrawal.Status.FAILED and withdrawal.reject_reason
    assert earnings_summary(carol).available == Decimal("100.00")
    client.force_login(carol.user)
    page = client.get(reverse("commissions:withdrawal_detail", args=[withdrawal.pk]))
    assert withdrawal.reject_reason in page.content.decode()


def test_approving_twice_pays_once(carol, reviewer, automatic, django_capture_on_commit_callbacks):
    withdrawal = withdraw(carol, "60.00")
    pay_now(withdrawal, reviewer, django_capture_on_commit_callbacks)
    pay_now(withdrawal, reviewer, django_capture_on_commit_callbacks)

    assert len(automatic.calls_of("alipay.fund.trans.uni.transfer")) == 1
    assert (
        LedgerEntry.objects.filter(
            withdrawal=withdrawal, kind=LedgerEntry.Kind.WITHDRAWAL_PAID
        ).count()
        == 1
    )


def test_a_transfer_whose_answer_was_lost_is_settled_by_the_poller_and_paid_once(
    carol, reviewer, automatic, django_capture_on_commit_callbacks
):
    automatic.fail_next("alipay.fund.trans.uni.transfer", "after-504")  # paid, answer lost
    withdrawal = withdraw(carol, "60.00")

    withdrawal = pay_now(withdrawal, reviewer, django_capture_on_commit_callbacks)
    assert withdrawal.status == Withdrawal.Status.PAYING
    assert withdrawals.settle_payouts_in_flight() == 1

    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PAID
    assert len(automatic.transfers) == 1
    assert earnings_summary(carol).held == Decimal("0.00")


def test_a_payout_whose_task_was_lost_is_sent_by_the_poller(carol, reviewer, automatic):
    withdrawal = withdraw(carol, "60.00")
    withdrawals.start_payout(withdrawal, reviewer=reviewer)  # on_commit never runs here

    assert not Transfer.objects.exists()
    assert withdrawals.settle_payouts_in_flight() == 1
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PAID


def test_a_method_paid_by_hand_cannot_be_paid_automatically(carol, reviewer, fake_alipay):
    withdrawal = withdraw(carol, "60.00")

    with pytest.raises(withdrawals.PayoutNotAutomatic):
        withdrawals.start_payout(withdrawal, reviewer=reviewer)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.REQUESTED


def test_staff_without_the_payout_permission_cannot_approve_payouts(
    carol, automatic, client, django_user_model
):
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_withdrawal", "change_withdrawal"])
    )
    withdrawal = withdraw(carol, "60.00")
    client.force_login(clerk)
    changelist = reverse("admin:commissions_withdrawal_changelist")

    page = client.get(changelist)
    assert b"pay_automatically" not in page.content
    client.post(changelist, {"action": "pay_automatically", "_selected_action": [withdrawal.pk]})

    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.REQUESTED


def test_finance_with_the_permission_pays_from_the_admin(
    carol, automatic, client, django_user_model, django_capture_on_commit_callbacks
):
    finance = django_user_model.objects.create_user("cashier", is_staff=True)
    finance.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_withdrawal", "change_withdrawal", "pay_withdrawal"]
        )
    )
    withdrawal = withdraw(carol, "60.00")
    client.force_login(finance)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:commissions_withdrawal_changelist"),
            {"action": "pay_automatically", "_selected_action": [withdrawal.pk]},
        )

    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.reviewer) == (Withdrawal.Status.PAID, finance)


@pytest.fixture
def wechat_automatic(fake_wechatpay, settings):
    PayoutSettings.objects.update_or_create(pk=1, defaults={"wechat_automatic": True})
    settings.WECHAT_OAUTH_APPID = settings.WECHATPAY_APPID
    return fake_wechatpay


def test_a_wechat_payout_waits_for_the_distributor_to_accept_it_in_wechat(
    carol, reviewer, wechat_automatic, settings, client, django_capture_on_commit_callbacks
):
    WeChatIdentity.objects.create(
        user=carol.user, appid=settings.WECHATPAY_APPID, openid="oCarol0000000000000000000000"
    )
    withdrawal = withdraw(carol, "60.00", method="wechat", account_number="WeChat")

    withdrawal = pay_now(withdrawal, reviewer, django_capture_on_commit_callbacks)
    assert withdrawal.status == Withdrawal.Status.PAYING
    client.force_login(carol.user)
    page = client.get(reverse("commissions:withdrawal_detail", args=[withdrawal.pk]))
    assert b"wechat-accept-transfer" in page.content

    wechat_automatic.confirm_transfer(withdrawal.payout_bill_no)
    assert withdrawals.settle_payouts_in_flight() == 1
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PAID
    page = client.get(reverse("commissions:withdrawal_detail", args=[withdrawal.pk]))
    assert b"wechat-accept-transfer" not in page.content
    bill = wechat_automatic.bills[withdrawal.payout_bill_no]
    assert bill["openid"] == "oCarol0000000000000000000000"


def test_a_wechat_payout_to_a_distributor_without_wechat_is_refused(
    carol, reviewer, wechat_automatic
):
    withdrawal = withdraw(carol, "60.00", method="wechat", account_number="WeChat")

    with pytest.raises(withdrawals.NoWeChatIdentity):
        withdrawals.start_payout(withdrawal, reviewer=reviewer)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.REQUESTED


def test_a_transfer_sent_before_the_distributor_unbound_wechat_is_still_followed_not_failed(
    carol, reviewer, wechat_automatic, settings, django_capture_on_commit_callbacks
):
    identity = WeChatIdentity.objects.create(
        user=carol.user, appid=settings.WECHATPAY_APPID, openid="oCarol0000000000000000000000"
    )
    withdrawal = withdraw(carol, "60.00", method="wechat", account_number="WeChat")
    withdrawal = pay_now(withdrawal, reviewer, django_capture_on_commit_callbacks)
    identity.delete()  # the money is already waiting in WeChat for her

    # the task delivered again, and the poller, ask about the transfer sent
    assert withdrawals.pay_out(withdrawal.pk).status == Withdrawal.Status.PAYING
    wechat_automatic.confirm_transfer(withdrawal.payout_bill_no)
    assert withdrawals.settle_payouts_in_flight() == 1
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PAID
    assert earnings_summary(carol).available == Decimal("40.00")
