"""Bonuses in the ledger: verify_ledger checks their entries and balances, the earnings page
and the summary show them, the back office lists and exports them."""

import csv
import io
import itertools
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from commissions import bonuses
from commissions import services as commission_services
from commissions.models import Bonus, LedgerEntry
from commissions.selectors import earnings_summary
from marketing.models import RecruitmentRewardSettings
from orders import refunds
from orders import services as order_services
from tests.orders.aftersale_helpers import pay

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

D = Decimal


def verify():
    out = StringIO()
    try:
        call_command("verify_ledger", stdout=out, stderr=StringIO())
    except CommandError as exc:
        return exc.returncode, out.getvalue()
    return 0, out.getvalue()


def raw_sql(sql, params):
    """Change the tables behind the services' back, as a bug or a hand in the database would."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def new_customer(chain, make_user, make_variant, address):
    """new_customer(): a new buyer's first order of 100.00 through carol's link, paid."""
    names = itertools.count(1)
    RecruitmentRewardSettings.objects.create(is_enabled=True, amount=D("8.00"), daily_cap=10)

    def new_customer():
        order = order_services.place_order(
            make_user(f"newcomer{next(names)}"),
            [(make_variant(price="100.00").pk, 1)],
            address=address,
            referral_code=chain[2].invite_code,
        )
        order = pay(order)
        commission_services.accrue_commissions(order.pk)
        return order

    return new_customer


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("warehouse", is_staff=True)


def complete_and_release(order, staff):
    order_services.ship_order(order, carrier="SF", tracking_number="SF1", actor=staff)
    order_services.complete_order(order, actor=staff)
    commission_services.release_order_commissions(order.pk)


@pytest.fixture
def bonus_ledger(chain, carol, new_customer, staff, admin_user):
    """Every bonus movement: carol has a pending reward, a released one, one reversed from
    pending (full refund), one reversed after its release; bob won a contest prize."""
    pending = new_customer()
    released = new_customer()
    complete_and_release(released, staff)
    refunded = new_customer()
    refunds.refund_order(refunded, actor=admin_user, reason="changed my mind")
    taken_back = new_customer()
    complete_and_release(taken_back, staff)
    bonuses.reverse_order_rewards(taken_back, reason="fraud")
    bonuses.pay_prize(chain[1].pk, D("50.00"), note="十月销售竞赛 第1名")
    return {
        "pending": pending.bonuses.get(),
        "released": released.bonuses.get(),
        "refunded": refunded.bonuses.get(),
        "taken_back": taken_back.bonuses.get(),
    }


def test_a_ledger_with_every_bonus_movement_passes(bonus_ledger, carol):
    code, out = verify()

    assert (code, out.startswith("ledger consistent")) == (0, True), out
    statuses = {name: bonus.status for name, bonus in bonus_ledger.items()}
    assert statuses == {
        "pending": "pending",
        "released": "available",
        "refunded": "reversed",
        "taken_back": "reversed",
    }
    # the reversal after release came out of available
    entry = bonus_ledger["taken_back"].entries.get(kind="reward_reversed")
    assert (entry.pending, entry.available) == (D("0.00"), D("-8.00"))


def test_a_tampered_reward_entry_fails_and_names_the_bonus_and_distributor(bonus_ledger, carol):
    bonus = bonus_ledger["pending"]
    raw_sql(
        "UPDATE commissions_ledgerentry SET pending = pending + 100 WHERE bonus_id = %s",
        [bonus.pk],
    )

    code, out = verify()

    assert code == 1
    assert f"distributor {carol}" in out
    assert f"bonus #{bonus.pk} (recruitment, pending)" in out and "entry sums" in out


def test_a_missing_release_entry_fails(bonus_ledger, carol):
    # the status says available, but no reward_released entry moved the money
    bonus = bonus_ledger["pending"]
    raw_sql("UPDATE commissions_bonus SET status = 'available' WHERE id = %s", [bonus.pk])

    code, out = verify()

    assert code == 1
    assert f"bonus #{bonus.pk} (recruitment, available)" in out
    assert "reward_accrued×1, reward_released×1" in out  # what was expected
    assert f"distributor {carol}" in out  # pending and available disagree with the records


def test_a_bonus_without_entries_fails(carol):
    prize = Bonus.objects.create(
        distributor=carol, kind=Bonus.Kind.CONTEST_PRIZE, amount=D("30.00"), status="available"
    )

    code, out = verify()

    assert code == 1
    assert f"bonus #{prize.pk} (contest_prize, available)" in out and "prize_paid×1" in out


def test_a_prize_in_a_status_a_prize_never_has_fails(carol):
    prize = bonuses.pay_prize(carol.pk, D("30.00"))
    raw_sql("UPDATE commissions_bonus SET status = 'pending' WHERE id = %s", [prize.pk])

    code, out = verify()

    assert code == 1
    assert f"bonus #{prize.pk} (contest_prize, pending)" in out and "not possible" in out


def test_a_refunded_order_with_a_live_reward_fails(bonus_ledger):
    bonus = bonus_ledger["refunded"]
    raw_sql("UPDATE commissions_bonus SET status = 'pending' WHERE id = %s", [bonus.pk])

    code, out = verify()

    assert code == 1
    assert f"order {bonus.order.number} (refunded)" in out and f"bonus #{bonus.pk}" in out


def test_a_reward_for_someone_elses_order_fails(bonus_ledger, shopper):
    bonus = bonus_ledger["released"]
    raw_sql("UPDATE commissions_bonus SET customer_id = %s WHERE id = %s", [shopper.pk, bonus.pk])

    code, out = verify()

    assert code == 1
    assert f"bonus #{bonus.pk} (recruitment, available)" in out and "customer" in out


def test_the_summary_counts_rewards_and_prizes_and_adds_up(bonus_ledger, chain, carol):
    summary = earnings_summary(carol)

    # carol: 100.00 released commission (the conftest's sale) + 10.00 per new customer's
    # order, less the refunded one's; rewards: one pending, one available, two reversed
    assert summary.bonuses == D("16.00")
    assert (summary.pending, summary.available) == (D("18.00"), D("128.00"))
    assert summary.total == summary.pending + summary.available + summary.held + summary.withdrawn
    assert earnings_summary(chain[1]).bonuses == D("50.00")


def test_the_earnings_page_lists_rewards_and_prizes(client, bonus_ledger, chain, carol):
    client.force_login(carol.user)
    page = client.get(reverse("commissions:earnings")).content.decode()

    assert "Rewards and prizes" in page
    assert page.count("Recruitment reward") == 4
    assert bonus_ledger["pending"].order.number in page
    assert "¥8.00" in page and "Reversed" in page
    assert "of rewards and prizes" in page  # the total says it includes ¥16.00 of them

    client.force_login(chain[1].user)
    page = client.get(reverse("commissions:earnings")).content.decode()
    assert "Contest prize" in page and "十月销售竞赛 第1名" in page and "¥50.00" in page


def test_the_earnings_page_hides_the_section_without_bonuses(client, carol):
    client.force_login(carol.user)
    page = client.get(reverse("commissions:earnings")).content.decode()

    assert "Rewards and prizes" not in page
    assert "All commissions, less reversals" in page


@pytest.mark.parametrize("prizes", [1, 6])
def test_the_earnings_page_costs_the_same_queries_at_any_number_of_bonuses(
    client, carol, new_customer, prizes, django_assert_num_queries
):
    new_customer()
    for n in range(prizes):
        bonuses.pay_prize(carol.pk, D("5.00"), note=f"prize {n}")
    client.force_login(carol.user)
    url = reverse("commissions:earnings")
    client.get(url)

    # session, user, distributor, summary, commissions (count, page), bonuses (count, page),
    # the header's unread counts
    with django_assert_num_queries(9):
        response = client.get(url)
    assert response.content.decode().count("Contest prize") == prizes


def test_a_distributor_sees_only_their_own_bonuses(client, bonus_ledger, chain):
    client.force_login(chain[0].user)  # alice: no reward, no prize
    page = client.get(reverse("commissions:earnings")).content.decode()

    assert "Rewards and prizes" not in page
    assert bonus_ledger["pending"].order.number not in page


BONUSES = reverse("admin:commissions_bonus_changelist")


def test_the_back_office_lists_bonuses_with_filters(admin_client, bonus_ledger):
    page = admin_client.get(BONUSES).content.decode()

    assert "¥8.00" in page and "¥50.00" in page
    assert "By kind" in page and "By status" in page
    filtered = admin_client.get(BONUSES, {"kind__exact": "contest_prize"}).content.decode()
    assert "¥50.00" in filtered and "¥8.00" not in filtered


def test_the_back_office_cannot_change_a_bonus(admin_client, bonus_ledger):
    bonus = bonus_ledger["pending"]
    url = reverse("admin:commissions_bonus_change", args=[bonus.pk])

    admin_client.post(url, {"amount": "999.00", "status": "available"})

    bonus.refresh_from_db()
    assert (bonus.amount, bonus.status) == (D("8.00"), "pending")
    assert admin_client.get(reverse("admin:commissions_bonus_add")).status_code == 403


def test_the_bonus_export_is_a_csv_excel_reads(admin_client, bonus_ledger):
    selected = [bonus_ledger["pending"].pk, bonus_ledger["refunded"].pk]

    response = admin_client.post(BONUSES, {"action": "export_csv", ACTION_CHECKBOX_NAME: selected})

    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:5] == ["ID", "Distributor", "Kind", "Amount", "Status"]
    assert sorted((int(r[0]), r[2], r[3], r[4]) for r in rows[1:]) == [
        (selected[0], "Recruitment reward", "8.00", "Pending"),
        (selected[1], "Recruitment reward", "8.00", "Reversed"),
    ]
    today = timezone.localdate().isoformat()
    assert all(r[8].startswith(today) for r in rows[1:])


def test_the_ledger_admin_shows_bonus_entries(admin_client, bonus_ledger):
    page = admin_client.get(
        reverse("admin:commissions_ledgerentry_changelist"), {"kind__exact": "reward_released"}
    ).content.decode()

    assert "Recruitment reward released (available)" in page
    assert LedgerEntry.objects.filter(kind="reward_released").count() == 2
