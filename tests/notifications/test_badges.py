"""The header's unread counts (消息, 客服), their JSON endpoint, and the resend sweep."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.task_policy import RETRY_POLICY
from notifications import deliveries
from notifications.models import Delivery, Kind, SiteMessage
from notifications.services import notify
from notifications.tasks import MAX_ATTEMPTS, resend_stuck_deliveries
from support.models import Conversation

pytestmark = pytest.mark.django_db


def team_news(user, n: int) -> SiteMessage:
    member = SimpleNamespace(user=SimpleNamespace(username=f"member{n}"))
    return notify(user, Kind.TEAM_MEMBER_JOINED, key=f"team:{n}", context={"member": member})


def conversation(user, unread: int) -> Conversation:
    return Conversation.objects.create(
        customer=user, topic=Conversation.Topic.GENERAL, customer_unread=unread
    )


@pytest.fixture
def signed_in(client, shopper):
    client.force_login(shopper)
    return client


def badge(html: str, name: str) -> str:
    start = html.index(f'data-badge="{name}"')
    return html[html.index(">", start) + 1 : html.index("<", start)]


def test_the_header_shows_my_unread_messages_and_replies(signed_in, shopper, make_user):
    team_news(shopper, 1)
    team_news(shopper, 2)
    SiteMessage.objects.filter(pk=team_news(shopper, 3).pk).update(read_at=timezone.now())
    conversation(shopper, unread=2)
    conversation(shopper, unread=1)
    someone = make_user("someone")
    team_news(someone, 4)
    conversation(someone, unread=5)

    html = signed_in.get(reverse("accounts:profile")).content.decode()

    assert badge(html, "messages") == "2"
    assert badge(html, "support") == "3"
    assert badge(html, "total") == "5"  # the tab bar's 我的


def test_no_unread_shows_no_badge(signed_in):
    html = signed_in.get(reverse("catalog:home")).content.decode()

    start = html.index('data-badge="messages"')
    assert " hidden" in html[start : html.index(">", start)]


def counts_queries(queries) -> list[str]:
    table = SiteMessage._meta.db_table
    return [q["sql"] for q in queries.captured_queries if table in q["sql"]]


def test_a_signed_in_page_reads_both_counts_in_one_query(signed_in, shopper):
    team_news(shopper, 1)
    conversation(shopper, unread=1)

    with CaptureQueriesContext(connection) as queries:
        # the header, the tab bar and the account links all show a count
        signed_in.get(reverse("accounts:profile"))

    assert len(counts_queries(queries)) == 1


def test_an_anonymous_page_reads_no_counts(client, shopper):
    team_news(shopper, 1)

    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("catalog:home")).content.decode()

    assert counts_queries(queries) == []
    assert "data-badges" not in html


def test_the_badge_endpoint_counts_in_one_query(signed_in, shopper, django_assert_num_queries):
    team_news(shopper, 1)
    team_news(shopper, 2)
    conversation(shopper, unread=4)

    # session, user, both counts
    with django_assert_num_queries(3):
        response = signed_in.get(reverse("notifications:badge"))

    assert response.json() == {"messages": 2, "support": 4}
    assert "no-cache" in response["Cache-Control"]


def test_the_badge_endpoint_follows_reading(signed_in, shopper):
    message = team_news(shopper, 1)
    signed_in.get(reverse("notifications:open", args=[message.pk]))

    assert signed_in.get(reverse("notifications:badge")).json() == {"messages": 0, "support": 0}


def test_the_badge_endpoint_tells_a_signed_out_visitor_nothing(client):
    response = client.get(reverse("notifications:badge"))

    assert response.status_code == 401
    assert response.json() == {"messages": 0, "support": 0}


def test_the_header_loads_the_refresher_only_when_signed_in(client, shopper):
    assert "js/badges.js" not in client.get(reverse("catalog:home")).content.decode()

    client.force_login(shopper)

    assert "js/badges.js" in client.get(reverse("catalog:home")).content.decode()


# --- resend_stuck_deliveries -------------------------------------------------------


def email_delivery(user, n: int, *, age: timedelta, **fields) -> Delivery:
    delivery = Delivery.objects.get(message=team_news(user, n), channel="email")
    Delivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - age, **fields)
    return delivery


def status(delivery: Delivery) -> str:
    delivery.refresh_from_db()
    return delivery.status


@pytest.mark.timeout(60)
def test_a_lost_delivery_is_sent_again_once(shopper, django_capture_on_commit_callbacks):
    lost = email_delivery(shopper, 1, age=timedelta(minutes=11))
    fresh = email_delivery(shopper, 2, age=timedelta(minutes=2))

    with django_capture_on_commit_callbacks(execute=True):
        assert resend_stuck_deliveries() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert resend_stuck_deliveries() == 0

    assert status(lost) == Delivery.Status.SENT
    assert status(fresh) == Delivery.Status.PENDING
    assert [m.to for m in mail.outbox] == [[shopper.email]]


@pytest.mark.timeout(60)
def test_a_sender_that_died_is_taken_over_after_its_lease(
    shopper, django_capture_on_commit_callbacks
):
    now = timezone.now()
    dead = email_delivery(
        shopper,
        1,
        age=timedelta(minutes=1),
        status=Delivery.Status.SENDING,
        claimed_at=now - deliveries.LEASE - timedelta(seconds=5),
        attempts=1,
    )
    alive = email_delivery(
        shopper,
        2,
        age=timedelta(minutes=1),
        status=Delivery.Status.SENDING,
        claimed_at=now - timedelta(seconds=5),
        attempts=1,
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert resend_stuck_deliveries() == 1

    assert status(dead) == Delivery.Status.SENT
    assert status(alive) == Delivery.Status.SENDING


@pytest.mark.timeout(60)
def test_a_delivery_whose_retries_ran_out_is_sent_again_but_not_one_retried_now(
    shopper, django_capture_on_commit_callbacks
):
    # given: two deliveries released after temporary failures (PENDING): one whose task
    # used up all its retries long ago, one whose next retry is still to come
    now = timezone.now()
    a_whole_run = 1 + RETRY_POLICY["max_retries"]
    ran_out = email_delivery(
        shopper,
        1,
        age=timedelta(hours=1),
        claimed_at=now - timedelta(minutes=11),
        attempts=a_whole_run,
    )
    retrying = email_delivery(
        shopper, 2, age=timedelta(hours=1), claimed_at=now - timedelta(minutes=1), attempts=2
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert resend_stuck_deliveries() == 1

    assert status(ran_out) == Delivery.Status.SENT
    assert status(retrying) == Delivery.Status.PENDING
    assert len(mail.outbox) == 1


def test_a_delivery_tried_too_often_is_given_up(shopper, django_capture_on_commit_callbacks):
    hopeless = email_delivery(
        shopper, 1, age=timedelta(hours=2), attempts=MAX_ATTEMPTS, reason="421 busy"
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert resend_stuck_deliveries() == 0

    assert status(hopeless) == Delivery.Status.FAILED
    assert hopeless.reason == f"gave up after {MAX_ATTEMPTS} attempts: 421 busy"
    assert mail.outbox == []


def test_a_run_sends_at_most_its_limit_oldest_first(shopper, monkeypatch):
    oldest = email_delivery(shopper, 1, age=timedelta(hours=3))
    older = email_delivery(shopper, 2, age=timedelta(hours=2))
    email_delivery(shopper, 3, age=timedelta(hours=1))
    sent = []
    monkeypatch.setattr("core.outbox.enqueue", lambda task, pk: sent.append(pk))

    assert resend_stuck_deliveries(limit=2) == 2
    assert sent == [oldest.pk, older.pk]


def test_the_sweep_runs_every_five_minutes():
    from config.celery import app

    entry = next(
        entry
        for entry in app.conf.beat_schedule.values()
        if entry["task"] == "notifications.tasks.resend_stuck_deliveries"
    )
    assert entry["schedule"].minute == set(range(0, 60, 5))
