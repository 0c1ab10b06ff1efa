"""My team (我的团队): three levels below, with sales, in a constant number of queries."""

from decimal import Decimal

import pytest
from django.urls import reverse

from distributors import selectors

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(make_distributor, sell):
    """leader > a1, a2; a1 > b1; b1 > c1; c1 > d1 (4 levels down); plus an outsider tree."""
    leader = make_distributor("leader")
    a1 = make_distributor("a1", parent=leader)
    a2 = make_distributor("a2", parent=leader)
    b1 = make_distributor("b1", parent=a1)
    c1 = make_distributor("c1", parent=b1)
    d1 = make_distributor("d1", parent=c1)
    outsider = make_distributor("outsider")
    sell(a1, "100.00")
    sell(a1, "50.00")
    sell(c1, "30.00")
    sell(d1, "999.00")  # four levels down: not on the page
    sell(leader, "7.00")  # the leader's own sales are not the team's
    leader.refresh_from_db()
    return {
        "leader": leader,
        "a1": a1,
        "a2": a2,
        "b1": b1,
        "c1": c1,
        "d1": d1,
        "outsider": outsider,
    }


def test_the_team_is_three_levels_deep_in_tree_order_with_each_members_sales(team):
    rows = [(m.user.username, m.depth, m.personal_sales) for m in selectors.team_of(team["leader"])]
    assert rows == [
        ("a1", 1, Decimal("150.00")),
        ("b1", 2, Decimal("0.00")),
        ("c1", 3, Decimal("30.00")),
        ("a2", 1, Decimal("0.00")),
    ]


def test_team_totals_count_the_members_and_their_sales(team):
    assert selectors.team_totals(team["leader"]) == selectors.TeamTotals(
        members=4, sales=Decimal("180.00")
    )


def test_a_members_level_is_counted_from_the_viewer(team):
    a1 = team["a1"]
    a1.refresh_from_db()
    assert [(m.user.username, m.depth) for m in selectors.team_of(a1)] == [
        ("b1", 1),
        ("c1", 2),
        ("d1", 3),
    ]


def test_the_team_page_lists_members_with_totals(client, team):
    client.force_login(team["leader"].user)
    page = client.get(reverse("distributors:team"))
    assert [m.user.username for m in page.context["page"].object_list] == ["a1", "b1", "c1", "a2"]
    assert page.context["totals"].members == 4
    assert "outsider" not in page.content.decode()


def test_the_team_page_is_paginated(client, team, monkeypatch):
    from distributors import views

    monkeypatch.setattr(views, "TEAM_PAGE_SIZE", 3)
    client.force_login(team["leader"].user)
    second = client.get(reverse("distributors:team") + "?page=2")
    assert [m.user.username for m in second.context["page"].object_list] == ["a2"]
    assert second.context["totals"].members == 4  # totals are the whole team's


def test_a_team_member_can_be_opened(client, team):
    client.force_login(team["leader"].user)
    page = client.get(reverse("distributors:team_member", args=[team["c1"].pk]))
    assert f'href="{reverse("distributors:team")}"' in page.content.decode()  # the trail back
    assert (page.context["member"].depth, page.context["member"].personal_sales) == (
        3,
        Decimal("30.00"),
    )


@pytest.mark.parametrize("who", ["outsider", "d1", "leader"])
def test_anyone_outside_the_team_is_not_found(client, team, who):
    client.force_login(team["a2"].user if who == "leader" else team["leader"].user)
    response = client.get(reverse("distributors:team_member", args=[team[who].pk]))
    assert response.status_code == 404


def test_the_team_page_needs_a_distributor(client, shopper):
    client.force_login(shopper)
    assert client.get(reverse("distributors:team")).url == reverse("distributors:join")


def grow_team(leader, make_distributor, sell, size):
    """`size` members spread over the three levels below `leader`, each with one sale."""
    by_depth = {0: [leader]}
    for n in range(size):
        depth = n % 3 + 1
        parents = by_depth[depth - 1]
        member = make_distributor(f"m{n}", parent=parents[n % len(parents)])
        sell(member, "10.00")
        by_depth.setdefault(depth, []).append(member)


@pytest.mark.parametrize("size", [3, 40])
def test_the_team_page_takes_the_same_number_of_queries_whatever_the_team_size(
    client, make_distributor, sell, django_assert_num_queries, size
):
    leader = make_distributor("leader")
    grow_team(leader, make_distributor, sell, size)
    client.force_login(leader.user)

    # session, user, distributor, page count, page rows, totals, the header's unread counts
    with django_assert_num_queries(7):
        response = client.get(reverse("distributors:team"))

    assert response.context["totals"].members == size
