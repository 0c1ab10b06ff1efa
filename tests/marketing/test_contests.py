"""Sales contests (销售竞赛): who takes part, live standings, and a settlement that awards
each prize once, whatever the number of runs, with cash in the ledger."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from commissions.models import Bonus, LedgerEntry
from commissions.selectors import earnings_summary
from distributors.models import Distributor, Grade
from marketing import contests, tasks
from marketing.models import Contest, ContestAward, ContestPrize, Metric
from orders.models import Order
from tests.marketing.board_helpers import call, sell
from tests.test_concurrency import run_at_once

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def make_contest(db):
    def make(*, metric=Metric.SALES, days_ago=7, days=14, grades=(), prizes=(), **fields):
        start = timezone.now() - timedelta(days=days_ago)
        contest = Contest.objects.create(
            name=fields.pop("name", "春季销售赛"),
            metric=metric,
            starts_at=start,
            ends_at=start + timedelta(days=days),
            **fields,
        )
        contest.grades.set(grades)
        for prize in prizes:
            ContestPrize.objects.create(contest=contest, **prize)
        return contest

    return make


def grade(rank):
    return Grade.objects.get(rank=rank)


def set_grade(distributor, rank):
    Distributor.objects.filter(pk=distributor.pk).update(grade=grade(rank))
    distributor.refresh_from_db()
    return distributor


# --- Who takes part -----------------------------------------------------------------


def test_a_contest_of_some_grades_is_open_to_those_grades_only(make_distributor, make_contest):
    silver = set_grade(make_distributor("silver"), 1)
    ordinary = make_distributor("ordinary")
    for_silver = make_contest(name="银牌赛", grades=[grade(1), grade(2)])
    for_all = make_contest(name="全员赛")
    make_contest(name="草稿", is_active=False)

    assert set(contests.open_to(silver)) == {for_silver, for_all}
    assert set(contests.open_to(ordinary)) == {for_all}


def test_the_list_sorts_running_upcoming_and_ended(make_distributor, make_contest):
    alice = make_distributor("alice")
    running = make_contest(name="进行中")
    upcoming = make_contest(name="未开始", days_ago=-3)
    ended = make_contest(name="已结束", days_ago=30)

    found = contests.contests_for(alice)

    assert (found.running, found.upcoming, found.ended) == ([running], [upcoming], [ended])


def test_a_contest_of_another_grade_is_not_found(client, make_distributor, make_contest):
    ordinary = make_distributor("ordinary")
    gold_only = make_contest(grades=[grade(2)])
    client.force_login(ordinary.user)

    response = client.get(reverse("marketing:contest_detail", args=[gold_only.pk]))
    listing = client.get(reverse("marketing:contest_list")).content.decode()

    assert response.status_code == 404
    assert reverse("marketing:contest_detail", args=[gold_only.pk]) not in listing


# --- Standings ----------------------------------------------------------------------


def test_standings_count_the_contest_period_and_eligible_grades_only(
    make_distributor, make_contest
):
    silver = set_grade(make_distributor("silver"), 1)
    ordinary = make_distributor("ordinary")
    contest = make_contest(grades=[grade(1)], days_ago=7, days=14)
    sell(silver, "100.00", paid_at=contest.starts_at + timedelta(hours=1))
    sell(silver, "900.00", paid_at=contest.starts_at - timedelta(hours=1))  # before it began
    sell(silver, "50.00", status=Order.Status.REFUNDED, refunded="50.00")
    sell(ordinary, "500.00")  # not of an eligible grade

    entries = contests.full_standings(contest)

    assert [(e.distributor_id, e.value) for e in entries] == [(silver.pk, D("100.00"))]


def test_a_suspended_distributor_is_not_ranked(make_distributor, make_contest):
    alice = make_distributor("alice")
    contest = make_contest()
    sell(alice, "100.00")
    Distributor.objects.filter(pk=alice.pk).update(status=Distributor.Status.SUSPENDED)

    assert contests.full_standings(contest) == []


def test_the_detail_shows_masked_standings_own_progress_and_prizes(
    client, make_distributor, make_contest
):
    zhang = call(make_distributor("zhang"), "张三丰")
    li = call(make_distributor("li"), "李四")
    contest = make_contest(
        prizes=[
            {"kind": "rank", "rank_from": 1, "cash": D("888.00"), "description": "茅台礼盒"},
            {"kind": "target", "target": D("200.00"), "description": "定制酒具"},
        ]
    )
    sell(zhang, "300.00")
    sell(li, "50.00")
    client.force_login(li.user)

    response = client.get(reverse("marketing:contest_detail", args=[contest.pk]))
    page = response.content.decode()

    assert "张**" in page and "张三丰" not in page
    assert response.context["standing"].own.rank == 2
    (target,) = response.context["targets"]
    assert (target.reached, target.percent) == (False, 25)
    assert "茅台礼盒" in page and "¥888.00" in page


def _detail_queries(client, viewer, contest):
    from django.core.cache import cache

    cache.clear()
    client.force_login(viewer.user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("marketing:contest_detail", args=[contest.pk]))
    assert response.status_code == 200
    return len(queries)


def test_the_detail_takes_the_same_queries_for_3_or_12_distributors(
    client, make_distributor, make_contest
):
    viewer = make_distributor("viewer")
    contest = make_contest(
        grades=[grade(0)], prizes=[{"kind": "rank", "rank_from": 1, "cash": D("10.00")}]
    )

    def grow(count):
        for n in range(count):
            sell(make_distributor(f"seller{count}-{n}"), f"{10 + n}.00")

    grow(3)
    small = _detail_queries(client, viewer, contest)
    grow(9)
    large = _detail_queries(client, viewer, contest)

    # session, user, distributor, contest, its grades, its prizes, top rows, own rank, the
    # header's unread counts
    assert small == large == 9


def test_the_list_takes_the_same_queries_for_2_or_8_contests(
    client, make_distributor, make_contest, django_assert_num_queries
):
    alice = make_distributor("alice")
    client.force_login(alice.user)
    for contests_count in (2, 8):
        while Contest.objects.count() < contests_count:
            make_contest(prizes=[{"kind": "rank", "rank_from": 1, "description": "奖杯"}])
        # session, user, distributor, contests, their prizes, the header's unread counts
        with django_assert_num_queries(6):
            response = client.get(reverse("marketing:contest_list"))
        assert len(response.context["groups"][0][2]) == contests_count


# --- Settlement ---------------------------------------------------------------------


@pytest.fixture
def ended_contest(make_distributor, make_contest):
    """An ended contest: top 300, then two at 200 (tied: 'early' reached it first), then 100.

    Prizes: rank 1 ¥100; ranks 2-3 a gift box; everyone at 150 or more ¥10.
    """
    contest = make_contest(
        days_ago=10,
        days=7,
        prizes=[
            {"kind": "rank", "rank_from": 1, "cash": D("100.00")},
            {"kind": "rank", "rank_from": 2, "rank_to": 3, "description": "礼盒"},
            {"kind": "target", "target": D("150.00"), "cash": D("10.00")},
        ],
    )
    people = {name: make_distributor(name) for name in ("top", "early", "late", "fourth")}
    at = contest.starts_at
    sell(people["top"], "300.00", paid_at=at + timedelta(days=1))
    sell(people["late"], "200.00", paid_at=at + timedelta(days=3))
    sell(people["early"], "200.00", paid_at=at + timedelta(days=2))
    sell(people["fourth"], "100.00", paid_at=at + timedelta(days=1))
    sell(people["fourth"], "500.00", paid_at=contest.ends_at + timedelta(hours=1))  # too late
    return contest, people


def awards_of(contest):
    return sorted(
        (a.distributor.user.username, a.rank, a.prize.kind, a.prize.cash, a.value)
        for a in ContestAward.objects.filter(contest=contest).select_related(
            "distributor__user", "prize"
        )
    )


def test_settlement_awards_rank_and_target_prizes(ended_contest):
    contest, _people = ended_contest

    assert tasks.settle_ended_contests() == 6

    assert awards_of(contest) == sorted(
        [
            ("top", 1, "rank", D("100.00"), D("300.00")),
            ("early", 2, "rank", D("0.00"), D("200.00")),
            ("late", 3, "rank", D("0.00"), D("200.00")),
            ("top", 1, "target", D("10.00"), D("300.00")),
            ("early", 2, "target", D("10.00"), D("200.00")),
            ("late", 3, "target", D("10.00"), D("200.00")),
        ]
    )
    contest.refresh_from_db()
    assert contest.settled_at is not None


def test_a_cash_prize_is_available_at_once_in_the_ledger(ended_contest):
    contest, people = ended_contest

    tasks.settle_ended_contests()

    top = people["top"]
    assert earnings_summary(top).available == D("110.00")
    entries = LedgerEntry.objects.filter(distributor=top)
    assert sorted(e.kind for e in entries) == [LedgerEntry.Kind.PRIZE_PAID] * 2
    award = ContestAward.objects.get(distributor=top, prize__kind="rank")
    assert award.bonus.kind == Bonus.Kind.CONTEST_PRIZE
    assert earnings_summary(people["fourth"]).available == D("0.00")


def test_settling_twice_awards_and_pays_once(ended_contest):
    contest, people = ended_contest

    tasks.settle_ended_contests()
    again = tasks.settle_ended_contests()
    direct = contests.settle_contest(contest.pk)

    assert (again, direct) == (0, [])
    assert ContestAward.objects.filter(contest=contest).count() == 6
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PRIZE_PAID).count() == 4
    assert earnings_summary(people["top"]).available == D("110.00")


def test_a_running_or_unpublished_contest_is_not_settled(make_contest, make_distributor):
    running = make_contest(prizes=[{"kind": "rank", "rank_from": 1, "cash": D("5.00")}])
    draft = make_contest(
        days_ago=30, is_active=False, prizes=[{"kind": "rank", "rank_from": 1, "cash": D("5.00")}]
    )
    sell(make_distributor("alice"), "10.00", paid_at=draft.starts_at + timedelta(hours=1))

    assert tasks.settle_ended_contests() == 0
    assert Contest.objects.filter(settled_at__isnull=False).count() == 0
    assert not ContestAward.objects.filter(contest__in=[running, draft]).exists()


def test_a_failed_settlement_leaves_the_contest_for_the_next_run(ended_contest, monkeypatch):
    contest, people = ended_contest
    real_pay = contests.pay_prize
    calls = {"n": 0}

    def pay_then_fail(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("the database went away")
        return real_pay(*args, **kwargs)

    monkeypatch.setattr(contests, "pay_prize", pay_then_fail)
    with pytest.raises(ConnectionError):
        tasks.settle_ended_contests()

    contest.refresh_from_db()
    assert contest.settled_at is None
    assert not ContestAward.objects.exists() and not Bonus.objects.exists()
    assert tasks.settle_ended_contests() == 6
    assert earnings_summary(people["top"]).available == D("110.00")


def test_the_detail_of_a_settled_contest_shows_ones_prizes(client, ended_contest):
    contest, people = ended_contest
    tasks.settle_ended_contests()
    client.force_login(people["early"].user)

    response = client.get(reverse("marketing:contest_detail", args=[contest.pk]))

    assert {a.prize.kind for a in response.context["awards"]} == {"rank", "target"}
    assert "礼盒" in response.content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_settlements_award_once(make_distributor, make_contest):
    contest = make_contest(
        days_ago=10, days=7, prizes=[{"kind": "rank", "rank_from": 1, "cash": D("50.00")}]
    )
    sell(make_distributor("winner"), "100.00", paid_at=contest.starts_at + timedelta(days=1))

    results = run_at_once(lambda _: len(contests.settle_contest(contest.pk)), range(4))

    assert sorted(results) == [0, 0, 0, 1]
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.PRIZE_PAID).count() == 1


# --- Admin --------------------------------------------------------------------------


@pytest.fixture
def admin_en(admin_client, settings):
    settings.LANGUAGE_CODE = "en"  # the messages as written (the admin speaks zh-hans)
    return admin_client


def contest_form(**changes):
    start = timezone.localtime() + timedelta(days=1)
    data = {
        "name": "夏季冲刺赛",
        "name_en": "",
        "description": "",
        "is_active": "on",
        "metric": "sales",
        "starts_at_0": start.strftime("%Y-%m-%d"),
        "starts_at_1": "00:00:00",
        "ends_at_0": (start + timedelta(days=30)).strftime("%Y-%m-%d"),
        "ends_at_1": "00:00:00",
        "grades": [grade(1).pk],
        "prizes-TOTAL_FORMS": "1",
        "prizes-INITIAL_FORMS": "0",
        "prizes-0-kind": "rank",
        "prizes-0-rank_from": "1",
        "prizes-0-rank_to": "",
        "prizes-0-target": "",
        "prizes-0-cash": "888.00",
        "prizes-0-description": "茅台礼盒",
    }
    data.update(changes)
    return data


def test_staff_add_a_contest_with_its_prizes(admin_en):
    response = admin_en.post(reverse("admin:marketing_contest_add"), contest_form())

    assert response.status_code == 302
    contest = Contest.objects.get()
    assert list(contest.grades.all()) == [grade(1)]
    assert [(p.rank_from, p.cash) for p in contest.prizes.all()] == [(1, D("888.00"))]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ends_at_0": "2020-01-01"}, "The contest must end after it starts."),
        ({"prizes-0-rank_from": ""}, "Give the rank (or the first rank) this prize is for."),
        (
            {"prizes-0-kind": "target", "prizes-0-target": ""},
            "Give the figure a distributor must reach.",
        ),
        (
            {"prizes-0-cash": "0", "prizes-0-description": ""},
            "Describe the prize or give a cash amount.",
        ),
        (
            {"prizes-0-rank_from": "3", "prizes-0-rank_to": "2"},
            "The last rank cannot come before the first.",
        ),
    ],
)
def test_a_bad_contest_or_prize_is_refused_with_its_reason(admin_en, changes, message):
    response = admin_en.post(reverse("admin:marketing_contest_add"), contest_form(**changes))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Contest.objects.exists()


def test_the_admin_pages_of_a_settled_contest_open_with_standings_and_awards(
    admin_en, ended_contest
):
    contest, people = ended_contest
    tasks.settle_ended_contests()

    change = admin_en.get(reverse("admin:marketing_contest_change", args=[contest.pk]))
    standings = admin_en.get(reverse("admin:marketing_contest_standings", args=[contest.pk]))
    listing = admin_en.get(reverse("admin:marketing_contest_changelist"), {"status": "settled"})

    assert change.status_code == standings.status_code == listing.status_code == 200
    assert "prizes-0-kind" not in change.content.decode()  # prizes fixed once settled
    rows = standings.context["rows"]
    assert [entry.distributor_id for entry, *_ in rows] == [
        people[name].pk for name in ("top", "early", "late", "fourth")
    ]
    assert "¥100.00" in standings.content.decode()
    assert list(listing.context["cl"].result_list) == [contest]


def test_the_standings_and_awards_export_as_csv(admin_en, ended_contest):
    contest, people = ended_contest
    tasks.settle_ended_contests()

    standings = admin_en.get(reverse("admin:marketing_contest_standings_csv", args=[contest.pk]))
    awards = admin_en.post(
        reverse("admin:marketing_contest_changelist"),
        {"action": "export_awards_csv", "_selected_action": [contest.pk]},
    )

    lines = standings.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Rank,Distributor ID,Username")
    assert lines[1].startswith(f"1,{people['top'].pk},top,,300.00,")
    assert len(lines) == 5
    award_lines = awards.content.decode("utf-8-sig").splitlines()
    assert len(award_lines) == 7
    assert "¥100.00" in award_lines[1]


def test_the_leaderboard_settings_open_from_the_list(admin_client):
    response = admin_client.get(reverse("admin:marketing_leaderboardsettings_changelist"))

    assert response.status_code == 302
    assert admin_client.get(response.url).status_code == 200
