"""The back office: approving and rejecting through the actions, and finance's CSV."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from commissions import withdrawals
from commissions.models import CommissionPlan, LedgerEntry, Withdrawal
from commissions.selectors import earnings_summary
from tests.commissions.helpers import withdraw

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

CHANGELIST = reverse("admin:commissions_withdrawal_changelist")


@pytest.fixture
def as_finance(client, reviewer):
    client.force_login(reviewer)
    return client


@pytest.fixture
def two_requests(carol):
    CommissionPlan.objects.filter(is_active=True).update(withdrawal_fee_rate=Decimal("0.01"))

    return (
        withdraw(carol, "50.00", method="bank_card", account_number="6222021234567890123"),
        withdraw(carol, "50.00", account_name="=HYPERLINK(1)", account_number="-1+2"),
    )


def act(client, action, selected, **data):
    return client.post(
        CHANGELIST, {"action": action, ACTION_CHECKBOX_NAME: [w.pk for w in selected], **data}
    )


def test_approving_asks_each_payout_reference_then_pays(as_finance, two_requests, reviewer):
    first, second = two_requests

    page = act(as_finance, "approve", two_requests)
    assert page.status_code == 200
    assert f'name="reference_{first.pk}"' in page.content.decode()
    assert not Withdrawal.objects.filter(status="paid").exists()

    response = act(
        as_finance,
        "approve",
        two_requests,
        confirm="1",
        **{f"reference_{first.pk}": "BANK-1", f"reference_{second.pk}": "BANK-2"},
    )

    assert response.status_code == 302
    paid = {w.pk: (w.status, w.payout_reference, w.reviewer) for w in Withdrawal.objects.all()}
    assert paid == {
        first.pk: ("paid", "BANK-1", reviewer),
        second.pk: ("paid", "BANK-2", reviewer),
    }
    assert earnings_summary(first.distributor).withdrawn == Decimal("100.00")


def test_approving_without_a_reference_pays_nothing(as_finance, two_requests):
    first, second = two_requests
    page = act(as_finance, "approve", two_requests, confirm="1", **{f"reference_{first.pk}": "B1"})
    assert page.status_code == 200
    assert "This field is required" in page.content.decode()
    assert not Withdrawal.objects.filter(status="paid").exists()


def test_rejecting_asks_a_reason_and_returns_the_money(as_finance, two_requests, reviewer):
    page = act(as_finance, "reject", two_requests)
    assert 'name="reason"' in page.content.decode()

    act(as_finance, "reject", two_requests, confirm="1", reason="姓名与实名认证不符")

    assert set(Withdrawal.objects.values_list("status", "reject_reason", "reviewer")) == {
        ("rejected", "姓名与实名认证不符", reviewer.pk)
    }
    assert earnings_summary(two_requests[0].distributor).available == Decimal("100.00")


def test_reviewed_withdrawals_are_left_alone_by_the_actions(as_finance, two_requests, reviewer):
    first, second = two_requests
    withdrawals.reject_withdrawal(first, reviewer=reviewer, reason="wrong name")

    act(as_finance, "approve", [first], confirm="1", **{f"reference_{first.pk}": "BANK-1"})

    first.refresh_from_db()
    assert first.status == Withdrawal.Status.REJECTED
    assert not LedgerEntry.objects.filter(withdrawal=first, kind="withdrawal_paid").exists()


def test_finance_exports_the_paid_ones_as_csv_excel_can_open(as_finance, two_requests, reviewer):
    first, second = two_requests
    withdrawals.approve_withdrawal(first, reviewer=reviewer, payout_reference="BANK-1")
    withdrawals.approve_withdrawal(second, reviewer=reviewer, payout_reference="BANK-2")
    response = act(as_finance, "export_csv", [first, second])

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    header, *rows = list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))
    assert header[0] == "ID" and header[-1] == "Reviewed by" and len(header) == 11
    by_id = {int(row[0]): row for row in rows}
    assert by_id[first.pk][3:9] == [
        "陈小红",
        "\t6222021234567890123",  # a tab: Excel keeps all 19 digits, as text
        "50.00",
        "0.50",
        "49.50",
        "BANK-1",
    ]
    # what a distributor typed is never run by Excel as a formula
    assert by_id[second.pk][3:5] == ["'=HYPERLINK(1)", "'-1+2"]
    assert by_id[second.pk][10] == "finance"


def test_the_export_leaves_out_withdrawals_not_paid(as_finance, two_requests, reviewer):
    first, second = two_requests
    withdrawals.approve_withdrawal(first, reviewer=reviewer, payout_reference="BANK-1")

    body = act(as_finance, "export_csv", two_requests).content.decode("utf-8-sig")

    ids = [row[0] for row in csv.reader(io.StringIO(body))][1:]
    assert ids == [str(first.pk)]


def test_ledger_entries_are_read_only_in_the_admin(as_finance, carol):
    entry = LedgerEntry.objects.filter(distributor=carol).first()
    url = reverse("admin:commissions_ledgerentry_change", args=[entry.pk])
    page = as_finance.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert as_finance.get(reverse("admin:commissions_ledgerentry_add")).status_code == 403
    delete_url = reverse("admin:commissions_ledgerentry_delete", args=[entry.pk])
    assert as_finance.post(delete_url, {"post": "yes"}).status_code == 403
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


def test_a_withdrawal_can_be_read_but_not_edited_in_the_admin(as_finance, two_requests):
    first, _ = two_requests
    page = as_finance.get(reverse("admin:commissions_withdrawal_change", args=[first.pk]))
    assert page.status_code == 200
    assert "6222021234567890123" in page.content.decode()
    as_finance.post(
        reverse("admin:commissions_withdrawal_change", args=[first.pk]),
        {"amount": "1.00", "status": "paid"},
    )
    first.refresh_from_db()
    assert (first.amount, first.status) == (Decimal("50.00"), "requested")


@pytest.mark.parametrize("query", ["carol", "6222021234567890123", "陈小红"])
def test_finance_finds_withdrawals_by_distributor_or_account(as_finance, two_requests, query):
    first, _ = two_requests
    page = as_finance.get(CHANGELIST, {"q": query, "status__exact": "requested"})
    assert page.status_code == 200
    assert first in page.context["cl"].result_list


def own_page(withdrawal, action):
    return reverse(f"admin:commissions_withdrawal_{action}", args=[withdrawal.pk])


def test_a_withdrawal_is_marked_paid_from_its_own_page(as_finance, two_requests, reviewer):
    first, second = two_requests
    change = reverse("admin:commissions_withdrawal_change", args=[first.pk])
    assert own_page(first, "approve") in as_finance.get(change).text

    form = as_finance.get(own_page(first, "approve"))
    assert form.status_code == 200 and f"reference_{first.pk}" in form.text
    response = as_finance.post(own_page(first, "approve"), {f"reference_{first.pk}": "BANK-77"})

    assert response.status_code == 302 and response.url == change
    first.refresh_from_db()
    assert (first.status, first.payout_reference, first.reviewer) == ("paid", "BANK-77", reviewer)
    # the same service as the list's action: the hold is spent by a withdrawal_paid entry
    assert first.entries.filter(kind=LedgerEntry.Kind.WITHDRAWAL_PAID).count() == 1
    second.refresh_from_db()
    assert second.status == "requested"


def test_marking_paid_from_the_page_needs_a_reference(as_finance, two_requests):
    first, _ = two_requests
    response = as_finance.post(own_page(first, "approve"), {f"reference_{first.pk}": ""})
    assert response.status_code == 200
    first.refresh_from_db()
    assert first.status == "requested"


def test_a_withdrawal_is_rejected_from_its_own_page(as_finance, two_requests, carol):
    first, _ = two_requests
    available = earnings_summary(carol).available
    response = as_finance.post(own_page(first, "reject"), {"reason": "wrong account name"})
    assert response.status_code == 302
    first.refresh_from_db()
    assert (first.status, first.reject_reason) == ("rejected", "wrong account name")
    assert earnings_summary(carol).available == available + first.amount


def test_a_reviewed_withdrawal_is_not_reviewed_again_from_its_page(as_finance, two_requests):
    first, _ = two_requests
    as_finance.post(own_page(first, "reject"), {"reason": "no"})
    response = as_finance.post(own_page(first, "approve"), {f"reference_{first.pk}": "X"})
    assert response.status_code == 200  # the refusal, on the form
    assert response.context["form"].non_field_errors() == [
        f"Withdrawal #{first.pk} is Rejected and cannot become Paid."
    ]
    first.refresh_from_db()
    assert first.status == "rejected"


def test_marking_paid_from_the_page_needs_the_pay_permission(client, two_requests):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    clerk = get_user_model().objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_withdrawal", "change_withdrawal"],
            content_type__app_label="commissions",
        )
    )
    client.force_login(clerk)
    first, _ = two_requests

    change = client.get(reverse("admin:commissions_withdrawal_change", args=[first.pk]))
    assert own_page(first, "approve") not in change.text  # not offered
    assert own_page(first, "reject") in change.text
    response = client.post(own_page(first, "approve"), {f"reference_{first.pk}": "X"})

    assert response.status_code == 403
    first.refresh_from_db()
    assert first.status == "requested"


def test_the_withdrawal_page_offers_no_save_button(as_finance, two_requests):
    first, _ = two_requests
    page = as_finance.get(reverse("admin:commissions_withdrawal_change", args=[first.pk]))
    assert 'name="_save"' not in page.text and 'name="_continue"' not in page.text
    assert str(first.request_token) not in page.text
