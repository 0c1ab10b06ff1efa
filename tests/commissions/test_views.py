"""The earnings and withdrawal pages: wiring, bad input, and other people's withdrawals."""

import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from commissions import withdrawals
from commissions.models import CommissionPlan, LedgerEntry, Withdrawal
from commissions.selectors import earnings_summary
from tests.commissions.helpers import withdraw

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

WITHDRAW = reverse("commissions:withdraw")


@pytest.fixture
def as_carol(client, carol):
    client.force_login(carol.user)
    return client


def form(amount="60.00", method="alipay", token=None):
    return {
        "request_token": token or str(uuid.uuid4()),
        "amount": amount,
        "method": method,
        "account_name": "张三",
        "account_number": "13800138000",
    }


def test_the_earnings_page_shows_available_held_and_withdrawn(as_carol, carol, reviewer):
    CommissionPlan.objects.filter(is_active=True).update(min_withdrawal=Decimal("10.00"))
    paid = withdraw(carol, "50.00")
    withdrawals.approve_withdrawal(paid, reviewer=reviewer, payout_reference="ALI-1")
    withdraw(carol, "30.00")
    page = as_carol.get(reverse("commissions:earnings")).content.decode()

    assert "Available" in page and "¥20.00" in page
    assert "Being withdrawn" in page and "¥30.00" in page
    assert "Withdrawn" in page and "¥50.00" in page


def test_a_withdrawal_request_through_the_page(as_carol, carol):
    response = as_carol.post(WITHDRAW, form("60.00"))

    withdrawal = Withdrawal.objects.get()
    assert response.url == withdrawal.get_absolute_url()
    assert (withdrawal.distributor, withdrawal.amount) == (carol, Decimal("60.00"))
    assert earnings_summary(carol).held == Decimal("60.00")
    detail = as_carol.get(response.url).content.decode()
    assert "was received" in detail and "Requested" in detail


def test_the_form_offers_only_the_plans_payout_methods(as_carol):
    CommissionPlan.objects.filter(is_active=True).update(payout_methods=["wechat", "bank_card"])
    page = as_carol.get(WITHDRAW).content.decode()
    assert 'value="wechat"' in page and 'value="bank_card"' in page
    assert 'value="alipay"' not in page


@pytest.mark.parametrize(
    ("amount", "method", "message"),
    [
        ("49.99", "alipay", "The minimum withdrawal is ¥50.00."),
        ("100.01", "alipay", "You can withdraw at most ¥100.00"),
        ("sixty", "alipay", "Enter an amount in yuan greater than zero"),
        ("-60.00", "alipay", "Enter an amount in yuan greater than zero"),
        ("0", "alipay", "Enter an amount in yuan greater than zero"),
        ("60.001", "alipay", "at most two decimal places"),
        ("60.00", "wechat", "Choose one of the payout methods offered"),
        ("60.00", "paypal", "Choose one of the payout methods offered"),
    ],
)
def test_bad_input_gets_a_message_and_changes_nothing(as_carol, carol, amount, method, message):
    CommissionPlan.objects.filter(is_active=True).update(payout_methods=["alipay", "bank_card"])
    entries_before = LedgerEntry.objects.count()

    response = as_carol.post(WITHDRAW, form(amount, method))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Withdrawal.objects.exists()
    assert LedgerEntry.objects.count() == entries_before
    assert earnings_summary(carol).available == Decimal("100.00")


def test_a_suspended_distributor_is_told_why(as_carol, carol):
    carol.status = carol.Status.SUSPENDED
    carol.save(update_fields=["status"])
    assert "suspended" in as_carol.get(WITHDRAW).content.decode()
    response = as_carol.post(WITHDRAW, form())
    assert "suspended" in response.content.decode()
    assert not Withdrawal.objects.exists()


def test_another_distributors_withdrawal_is_not_found(client, carol, chain):
    alice, bob, _ = chain
    carols = withdraw(carol, "60.00")
    client.force_login(bob.user)

    assert client.get(carols.get_absolute_url()).status_code == 404
    assert f"#{carols.pk}" not in client.get(reverse("commissions:withdrawals")).content.decode()


def test_my_withdrawals_hide_all_but_the_last_digits_of_the_account(as_carol, carol):
    withdraw(carol, "60.00", method="bank_card", account_number="6222021234567890123")
    page = as_carol.get(reverse("commissions:withdrawals")).content.decode()
    assert "•••• 0123" in page
    assert "6222021234567890123" not in page


def test_withdrawal_pages_are_for_distributors_only(client, shopper):
    assert client.get(WITHDRAW).url.startswith(reverse("accounts:login"))
    client.force_login(shopper)
    assert client.get(WITHDRAW).url == reverse("distributors:join")
    assert client.post(WITHDRAW, form()).url == reverse("distributors:join")
    assert not Withdrawal.objects.exists()


def test_a_double_submitted_form_makes_one_withdrawal(as_carol, carol):
    same = form(token=str(uuid.uuid4()))
    first = as_carol.post(WITHDRAW, same)
    second = as_carol.post(WITHDRAW, same)

    assert first.url == second.url
    assert Withdrawal.objects.filter(distributor=carol).count() == 1
