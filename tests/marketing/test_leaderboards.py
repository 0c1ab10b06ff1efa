"""Leaderboards (排行榜): the figures, masked names, the merchant's switches, and a page
in a constant number of queries whatever the number of distributors."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from marketing import leaderboards
from marketing.leaderboards import mask_name, period_start
from marketing.models import LeaderboardSettings, Metric
from orders.models import Order
from tests.marketing.board_helpers import call, joined, sell

pytestmark = pytest.mark.django_db

D = Decimal


def week_start():
    return period_start("week")


def figures_of(metric, period="week"):
    rows = leaderboards.figures(metric, start=period_start(period))
    return {row.distributor_id: row.value for row in leaderboards.top_rows(metric, rows, 50)}


def test_sales_count_goods_paid_this_week_less_refunds_and_nothing_else(make_distributor):
    alice = make_distributor("alice")
    this_week = week_start() + timedelta(minutes=1)
    sell(alice, "100.00", paid_at=this_week)
    sell(alice, "200.00", status=Order.Status.COMPLETED, paid_at=this_week, refunded="50.00")
    sell(alice, "1000.00", paid_at=week_start() - timedelta(minutes=1))  # last week
    sell(alice, "300.00", status=Order.Status.PENDING_PAYMENT)
    sell(alice, "400.00", status=Order.Status.CANCELLED)
    sell(alice, "500.00", status=Order.Status.REFUNDED, paid_at=this_week, refunded="500.00")

    assert figures_of(Metric.SALES) == {alice.pk: D("250.00")}
    assert figures_of(Metric.ORDERS) == {alice.pk: 2}
    assert figures_of(Metric.SALES, "all") == {alice.pk: D("1250.00")}


def test_the_month_starts_at_local_midnight_of_the_first():
    now = timezone.make_aware(timezone.datetime(2026, 3, 18, 15, 0))  # a Wednesday
    month, week = period_start("month", now), period_start("week", now)

    assert timezone.localtime(month).isoformat() == "2026-03-01T00:00:00+08:00"
    assert timezone.localtime(week).isoformat() == "2026-03-16T00:00:00+08:00"  # Monday


def test_recruits_are_distributors_who_joined_under_them_in_the_period(make_distributor):
    alice, bob = make_distributor("alice"), make_distributor("bob")
    make_distributor("a1", parent=alice)
    make_distributor("a2", parent=alice)
    joined(make_distributor("old", parent=alice), week_start() - timedelta(days=1))
    b1 = make_distributor("b1", parent=bob)
    make_distributor("grandchild", parent=b1)  # bob's recruit's recruit: not bob's

    assert figures_of(Metric.RECRUITS) == {alice.pk: 2, bob.pk: 1, b1.pk: 1}
    assert figures_of(Metric.RECRUITS, "all")[alice.pk] == 3


def test_equal_figures_rank_whoever_reached_them_first(make_distributor):
    early, late, top = (make_distributor(n) for n in ("early", "late", "top"))
    start = week_start()
    sell(late, "100.00", paid_at=start + timedelta(minutes=1))
    sell(early, "100.00", paid_at=start + timedelta(seconds=30))
    sell(top, "101.00", paid_at=start + timedelta(minutes=2))

    rows = leaderboards.top_rows(Metric.SALES, leaderboards.figures(Metric.SALES), 50)

    assert [(r.rank, r.distributor_id) for r in rows] == [(1, top.pk), (2, early.pk), (3, late.pk)]


@pytest.mark.parametrize(
    ("first_name", "username", "shown"),
    [
        ("张三丰", "zsf", "张**"),
        ("李四", "lisi", "李**"),
        ("", "alice", "a**"),
        ("", "13800138000", "138****8000"),
        ("  ", "bob", "b**"),
    ],
)
def test_names_show_their_first_character_only(first_name, username, shown):
    assert mask_name(first_name, username) == shown


@pytest.fixture
def board_page(client):
    def get(distributor, board="sales", period="week"):
        client.force_login(distributor.user)
        return client.get(reverse("marketing:leaderboard", args=[board]), {"period": period})

    return get


def test_the_page_masks_other_names_and_marks_ones_own_row(make_distributor, board_page):
    wang = call(make_distributor("wang"), "王小明")
    li = call(make_distributor("li"), "李大伟")
    sell(wang, "300.00")
    sell(li, "100.00")

    page = board_page(li).content.decode()

    assert "王**" in page and "王小明" not in page
    assert "¥300.00" in page
    assert "每分钟更新" in page or "Updated every minute" in page


def test_ones_own_rank_shows_outside_the_top(make_distributor, board_page, monkeypatch):
    monkeypatch.setattr(leaderboards, "TOP", 2)
    sellers = [make_distributor(f"s{n}") for n in range(4)]
    for n, seller in enumerate(sellers):
        sell(seller, f"{100 * (4 - n)}.00")  # s0 sells most

    response = board_page(sellers[3])

    assert [row.distributor_id for row in response.context["standing"].rows] == [
        sellers[0].pk,
        sellers[1].pk,
    ]
    own = response.context["standing"].own
    assert (own.rank, own.value) == (4, D("100.00"))


def test_a_distributor_without_a_figure_is_not_ranked(make_distributor, board_page):
    assert board_page(make_distributor("new")).context["standing"].own is None


def test_a_board_the_merchant_turned_off_is_not_shown_and_its_address_says_so(
    make_distributor, board_page
):
    settings = LeaderboardSettings.get_solo()
    settings.shows_recruits = False
    settings.save()
    alice = make_distributor("alice")

    off = board_page(alice, board="recruits")
    sales = board_page(alice, board="sales")

    assert off.status_code == 404
    assert "standing" not in off.context
    assert off.context["is_off"] is True
    assert reverse("marketing:leaderboard", args=["recruits"]) not in sales.content.decode()


def test_the_leaderboard_opens_the_first_board_shown(make_distributor, client):
    settings = LeaderboardSettings.get_solo()
    settings.shows_sales = False
    settings.save()
    alice = make_distributor("alice")
    client.force_login(alice.user)

    assert client.get(reverse("marketing:leaderboard")).context["board"] == Metric.RECRUITS


def test_only_distributors_see_leaderboards(client, shopper):
    client.force_login(shopper)

    assert client.get(reverse("marketing:leaderboard")).url == reverse("distributors:join")


def _queries_of_board(client, viewer, board):
    from django.core.cache import cache

    cache.clear()
    LeaderboardSettings.get_solo()  # made on the first visit, then read
    client.force_login(viewer.user)
    url = reverse("marketing:leaderboard", args=[board])
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, {"period": "month"}).status_code == 200
    return len(queries)


@pytest.mark.parametrize("board", ["sales", "recruits"])
def test_a_board_takes_the_same_queries_for_3_or_12_distributors(client, make_distributor, board):
    viewer = make_distributor("viewer")

    def grow(count):  # others who sold and recruited; the viewer did neither
        for n in range(count):
            leader = make_distributor(f"leader{count}-{n}")
            make_distributor(f"member{count}-{n}", parent=leader)
            sell(leader, f"{10 + n}.00")

    grow(3)
    small = _queries_of_board(client, viewer, board)
    grow(9)
    large = _queries_of_board(client, viewer, board)

    # session, user, distributor, settings, the board's aggregate, the own-rank query, the
    # header's unread counts
    assert small == large == 7


def test_a_board_is_read_from_the_cache_within_the_minute(
    client, make_distributor, django_assert_num_queries
):
    alice, bob = make_distributor("alice"), make_distributor("bob")
    sell(alice, "10.00")
    client.force_login(bob.user)
    url = reverse("marketing:leaderboard", args=["sales"])
    client.get(url)
    sell(bob, "99.00")

    # session, user, distributor, settings, the header's unread counts
    with django_assert_num_queries(5):
        response = client.get(url)

    assert response.context["standing"].own is None  # bob's new sale shows within the minute
