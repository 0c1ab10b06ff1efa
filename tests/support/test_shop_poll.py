"""The thread's poll: new messages rendered as the page renders them, the state of the
conversation, reading only while the tab is in view, and a fixed number of queries."""

import pytest
from django.urls import reverse

from support import services
from support.models import Conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, customer):
    client.force_login(customer)
    return client


def poll(client, conversation, **params):
    response = client.get(reverse("support:poll", args=[conversation.pk]), params)
    assert response.status_code == 200
    return response


def test_the_poll_gives_the_messages_after_the_last_one_shown(
    signed_in, conversation, support_staff
):
    shown = conversation.messages.last()
    reply = services.post_message(conversation, support_staff, body="您好，在的", as_staff=True)

    data = poll(signed_in, conversation, after=shown.pk).json()

    assert [m["id"] for m in data["messages"]] == [reply.pk]
    page = signed_in.get(conversation.get_absolute_url()).content.decode()
    assert data["messages"][0]["html"].strip() in page  # the same include as the page
    assert data["status"] == "open"
    assert data["rate"] is False
    assert poll(signed_in, conversation, after=reply.pk).json()["messages"] == []


def test_the_poll_reads_the_replies_only_when_the_tab_is_in_view(
    signed_in, conversation, support_staff
):
    services.post_message(conversation, support_staff, body="您好", as_staff=True)

    poll(signed_in, conversation, after=0)  # a hidden tab
    assert Conversation.objects.get(pk=conversation.pk).customer_unread == 1

    poll(signed_in, conversation, after=0, seen=1)
    conversation.refresh_from_db()
    assert conversation.customer_unread == 0
    assert conversation.customer_seen_at is not None


def test_polling_with_nothing_unread_writes_nothing(signed_in, conversation, support_staff):
    # the page polls every few seconds: only a poll that reads something writes
    services.post_message(conversation, support_staff, body="您好", as_staff=True)
    poll(signed_in, conversation, after=0, seen=1)  # reads the reply
    read_at = Conversation.objects.get(pk=conversation.pk).customer_seen_at

    poll(signed_in, conversation, after=0, seen=1)

    assert Conversation.objects.get(pk=conversation.pk).customer_seen_at == read_at


def test_a_conversation_closed_by_staff_asks_for_a_rating_through_the_poll(signed_in, conversation):
    assert "state_html" not in poll(signed_in, conversation, after=0, state="open").json()

    services.close(conversation)
    data = poll(signed_in, conversation, after=0, state="open").json()

    assert (data["status"], data["rate"], data["state"]) == ("closed", True, "to-rate")
    assert 'name="rating"' in data["state_html"]
    assert reverse("support:rate", args=[conversation.pk]) in data["state_html"]


def test_a_bad_after_is_refused(signed_in, conversation):
    url = reverse("support:poll", args=[conversation.pk])
    assert signed_in.get(url, {"after": "x"}).status_code == 400


def test_the_poll_answers_are_not_cached(signed_in, conversation):
    response = poll(signed_in, conversation, after=0)
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("new", [1, 20])
def test_the_poll_costs_the_same_queries_however_many_messages_came(
    signed_in, conversation, support_staff, make_picture, django_assert_num_queries, new
):
    shown = conversation.messages.last()
    for n in range(new):
        services.post_message(
            conversation,
            support_staff,
            body=f"第{n}条",
            files=[make_picture()] if n % 5 == 0 else [],
            as_staff=True,
        )
    services.close(conversation)  # the rating form is rendered too

    # session, user, conversation, messages with authors, their pictures, mark read
    with django_assert_num_queries(6):
        data = poll(signed_in, conversation, after=shown.pk, seen=1, state="open").json()

    assert len(data["messages"]) == new
    assert "state_html" in data


def queries_of(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_thread_and_the_list_cost_the_same_queries_at_any_length(
    signed_in, customer, conversation, support_staff, make_picture, always_open
):
    def grow(count):
        for n in range(count):
            services.post_message(
                conversation, support_staff, body=f"回复{n}", files=[make_picture()], as_staff=True
            )
            other = Conversation.objects.create(customer=customer, topic="general")
            services.post_message(other, customer, body=f"问题{n}", as_staff=False)

    thread, mine = conversation.get_absolute_url(), reverse("support:list")
    grow(1)
    short = queries_of(signed_in, thread), queries_of(signed_in, mine)
    grow(15)
    assert Conversation.objects.filter(customer=customer).count() == 17
    assert (queries_of(signed_in, thread), queries_of(signed_in, mine)) == short
