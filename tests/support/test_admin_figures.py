"""The staff figures (客服统计), canned replies and the service settings in the back office."""

import re
from datetime import date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.days import DayRange
from support import services, staff_figures
from support.models import CannedReply, Conversation, Message, ServiceSettings

# Pictures go to a tmp private storage (tests/support/conftest.py, autouse); customer
# service is open round the clock (always_open): no automatic answers unless asked.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("always_open", "english")]

FIGURES = reverse("admin:support_conversation_figures")
WEEK = DayRange(date(2026, 11, 10), date(2026, 11, 16))


ANSWERS = ("view_conversation", "change_conversation")


def at(day: int, hour: int, minute: int) -> datetime:
    """A moment of November 2026 in the shop's time zone."""
    return timezone.make_aware(datetime(2026, 11, day, hour, minute))


def history_entry(customer, started, replies, *, rating=None, rated=None):
    """A conversation started at `started`, answered by (staff, moment) in order, and
    rated `rating` at `rated` once closed."""
    conversation = services.start_conversation(customer, body="你好")
    Conversation.objects.filter(pk=conversation.pk).update(created_at=started)
    Message.objects.filter(conversation=conversation).update(created_at=started)
    for author, moment in replies:
        reply = services.post_message(conversation, author, body="您好", as_staff=True)
        Message.objects.filter(pk=reply.pk).update(created_at=moment)
    Conversation.objects.filter(pk=conversation.pk).update(first_reply_at=replies[0][1])
    if rating is not None:
        services.close(conversation)
        services.rate(conversation, rating=rating)
        Conversation.objects.filter(pk=conversation.pk).update(rated_at=rated)
    return conversation


@pytest.fixture
def team(staff):
    return {
        "a": staff(*ANSWERS, username="anna", first_name="安娜", last_name="王"),
        "b": staff(*ANSWERS, username="bo", first_name="波", last_name="李"),
        "idle": staff(*ANSWERS, username="chen"),
        "reader": staff("view_conversation", username="reader"),
    }


@pytest.fixture
def history(team, make_user):
    """Within WEEK, anna first-answers in 2, 10 and 30 minutes and bo in 4; anna's
    conversation is rated 5, bo's 2. One conversation started before the week (bo
    answers it inside), one after it."""
    a, b = team["a"], team["b"]
    shopper = iter(make_user(f"s{n}") for n in range(10))
    min_ = timedelta(minutes=1)
    history_entry(
        next(shopper),
        at(12, 10, 0),
        [(a, at(12, 10, 2)), (a, at(12, 10, 30))],
        rating=5,
        rated=at(12, 11, 0),
    )
    history_entry(next(shopper), at(13, 14, 0), [(a, at(13, 14, 0) + 10 * min_)])
    history_entry(
        next(shopper),
        at(14, 9, 0),
        [(b, at(14, 9, 4)), (a, at(14, 9, 20))],
        rating=2,
        rated=at(14, 10, 0),
    )
    history_entry(next(shopper), at(9, 9, 0), [(b, at(9, 9, 5)), (b, at(10, 8, 0))])
    history_entry(next(shopper), at(15, 8, 0), [(a, at(15, 8, 30))])
    history_entry(next(shopper), at(20, 8, 0), [(a, at(20, 8, 1))])  # after the week


def by_name(figures):
    return {row.staff.get_username(): row for row in figures.rows}


def test_each_staff_members_figures_over_the_period(history):
    figures = staff_figures.staff_figures(WEEK)

    rows = by_name(figures)
    anna, bo = rows["anna"], rows["bo"]
    assert (anna.conversations, anna.replies) == (4, 5)
    assert anna.median_first_reply == timedelta(minutes=10)
    assert anna.average_first_reply == timedelta(minutes=14)  # (2 + 10 + 30) / 3
    assert (anna.rated, anna.average_rating) == (1, 5.0)
    assert (bo.conversations, bo.replies) == (2, 2)  # the one started before the week counts
    assert bo.median_first_reply == bo.average_first_reply == timedelta(minutes=4)
    assert (bo.rated, bo.average_rating) == (1, 2.0)


def test_the_totals_count_each_conversation_once(history):
    totals = staff_figures.staff_figures(WEEK).totals

    assert (totals.conversations, totals.replies) == (5, 7)
    assert totals.median_first_reply == timedelta(minutes=7)  # of 2, 4, 10, 30
    assert totals.average_first_reply == timedelta(minutes=11, seconds=30)
    assert (totals.rated, totals.average_rating) == (2, 3.5)
    assert staff_figures.staff_figures(WEEK).started == 4


def test_staff_who_may_answer_show_with_nothing_done_and_readers_do_not(history):
    rows = by_name(staff_figures.staff_figures(WEEK))

    assert set(rows) == {"anna", "bo", "chen"}
    idle = rows["chen"]
    assert (idle.conversations, idle.replies, idle.rated) == (0, 0, 0)
    assert idle.median_first_reply is None and idle.average_rating is None


@pytest.mark.parametrize("people", [1, 12])
def test_the_figures_take_seven_queries_whatever_the_number_of_staff(
    make_user, staff, django_assert_num_queries, people
):
    for n in range(people):
        member = staff(*ANSWERS, username=f"agent{n}")
        conversation = services.start_conversation(make_user(f"s{n}"), body="你好")
        services.post_message(conversation, member, body="您好", as_staff=True)
        services.close(conversation)
        services.rate(conversation, rating=4)

    with django_assert_num_queries(7):
        figures = staff_figures.staff_figures(DayRange.last_days(1))

    assert len(figures.rows) == people
    assert figures.totals.average_rating == 4.0


def test_the_now_line_counts_open_unassigned_and_long_waits(make_user, team):
    waiting_long = services.start_conversation(make_user("s1"), body="在吗")
    Conversation.objects.filter(pk=waiting_long.pk).update(
        waiting_since=timezone.now() - timedelta(minutes=11)
    )
    services.start_conversation(make_user("s2"), body="你好")  # waiting 0 minutes
    answered = services.start_conversation(make_user("s3"), body="你好")
    services.post_message(answered, team["a"], body="您好", as_staff=True)

    now = staff_figures.inbox_counts(team["a"])

    assert (now.open, now.unassigned, now.waiting, now.waiting_too_long) == (3, 2, 2, 1)
    assert now.mine == 1


# --- the page -------------------------------------------------------------------------------


def test_the_page_shows_todays_figures_by_staff_member_and_the_totals(client, team, make_user):
    conversation = services.start_conversation(make_user("s1"), body="你好")
    Conversation.objects.filter(pk=conversation.pk).update(
        created_at=timezone.now() - timedelta(minutes=3)
    )
    services.post_message(conversation, team["a"], body="您好", as_staff=True)
    services.close(conversation)
    services.rate(conversation, rating=4)
    client.force_login(team["reader"])

    response = client.get(FIGURES, {"period": "today"})

    assert response.status_code == 200
    html = response.text
    row = html[html.index(f'data-staff="{team["a"].pk}"') :]
    row = row[: row.index("</tr>")]
    assert "王安娜" in row and "3 minutes" in row and "4.0" in row
    assert html.count('data-staff="') == 3  # anna, bo, chen: not the reader
    assert 'aria-current="page">Today<' in html
    assert "Total" in html


@pytest.mark.parametrize("people", [1, 8])
def test_the_page_costs_the_same_queries_whatever_the_number_of_staff(
    client, staff, make_user, django_assert_num_queries, people
):
    viewer = staff(*ANSWERS, username="boss")
    for n in range(people):
        member = staff(*ANSWERS, username=f"agent{n}")
        conversation = services.start_conversation(make_user(f"s{n}"), body="你好")
        services.post_message(conversation, member, body="您好", as_staff=True)
    client.force_login(viewer)

    # session, user, permissions (2), the figures (7)
    with django_assert_num_queries(11):
        assert client.get(FIGURES, {"period": "30d"}).status_code == 200


def test_the_page_needs_the_view_permission(client, staff):
    client.force_login(staff("view_order", username="clerk"))

    assert client.get(FIGURES).status_code == 403


def test_the_app_index_links_the_figures(client, team):
    client.force_login(team["reader"])

    html = client.get(reverse("admin:app_list", args=["support"])).text

    assert FIGURES in html


# --- canned replies and service settings ------------------------------------------------


def test_canned_replies_are_ordered_and_edited_in_the_list(admin_client):
    late = CannedReply.objects.create(title="发票", body="可以开发票", position=5)
    early = CannedReply.objects.create(title="发货", body="48 小时内发货", position=1)
    listing = reverse("admin:support_cannedreply_changelist")
    assert [r.pk for r in admin_client.get(listing).context["cl"].result_list] == [
        early.pk,
        late.pk,
    ]

    admin_client.post(
        listing,
        {
            "form-TOTAL_FORMS": "2",
            "form-INITIAL_FORMS": "2",
            "form-0-id": early.pk,
            "form-0-position": "9",
            "form-0-is_active": "on",
            "form-1-id": late.pk,
            "form-1-position": "0",
            "_save": "Save",
        },
    )

    early.refresh_from_db(), late.refresh_from_db()
    assert (early.position, early.is_active) == (9, True)
    assert (late.position, late.is_active) == (0, False)


def test_the_settings_open_straight_on_the_one_row_with_seven_day_boxes(admin_client):
    response = admin_client.get(reverse("admin:support_servicesettings_changelist"), follow=True)

    html = response.text
    assert response.redirect_chain[-1][0] == reverse(
        "admin:support_servicesettings_change", args=[1]
    )
    boxes = re.findall(r'name="open_days" value="(\d)"[^>]*?( checked)?>\s*(\w+)</label>', html)
    assert boxes == [
        (str(n), " checked", day)  # every day ticked by default
        for n, day in enumerate(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), start=1)
    ]


def test_the_settings_store_the_days_ticked_the_hours_and_the_answers(admin_client):
    change = reverse("admin:support_servicesettings_change", args=[ServiceSettings.get_solo().pk])

    response = admin_client.post(
        change,
        {
            "open_days": ["5", "1", "3"],
            "opens_at": "08:30",
            "closes_at": "18:00",
            "away_message": "下班了，明天回复您。",
            "away_message_en": "We are closed; we answer tomorrow.",
        },
    )

    assert response.status_code == 302
    service = ServiceSettings.get_solo()
    assert service.open_days == "135"
    assert (service.opens_at.hour, service.opens_at.minute, service.closes_at.hour) == (8, 30, 18)
    assert service.away_message == "下班了，明天回复您。"
    assert admin_client.get(reverse("admin:support_servicesettings_add")).status_code == 403
