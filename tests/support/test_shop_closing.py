"""问题已解决: the shopper closes a conversation, rates it once, and reopens it by writing."""

import re

import pytest
from django.urls import reverse

from support import services
from support.models import Conversation

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, customer):
    client.force_login(customer)
    return client


def page(client, conversation) -> str:
    return client.get(conversation.get_absolute_url()).content.decode()


def test_an_open_conversation_offers_to_close_it_and_no_rating(signed_in, conversation):
    body = page(signed_in, conversation)
    assert f'action="{reverse("support:close", args=[conversation.pk])}"' in body
    assert 'name="rating"' not in body


def test_closing_asks_for_a_rating_with_five_stars(signed_in, conversation):
    response = signed_in.post(reverse("support:close", args=[conversation.pk]))

    assert response.status_code == 302
    assert response.url == conversation.get_absolute_url() + "#rating"
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.CLOSED
    body = page(signed_in, conversation)
    assert reverse("support:close", args=[conversation.pk]) not in body
    stars = re.findall(r'<input type="radio" name="rating" value="(\d)"', body)
    assert sorted(stars) == ["1", "2", "3", "4", "5"]
    assert 'name="comment"' in body


def test_a_rating_is_saved_shown_and_given_once(settings, signed_in, conversation):
    settings.LANGUAGE_CODE = "en"
    services.close(conversation)
    url = reverse("support:rate", args=[conversation.pk])

    response = signed_in.post(url, {"rating": "4", "comment": "回复很快"})

    assert response.status_code == 302
    conversation.refresh_from_db()
    assert (conversation.rating, conversation.rating_comment) == (4, "回复很快")
    body = page(signed_in, conversation)
    assert 'name="rating"' not in body  # no form any more
    assert body.count('class="star-on"') == 4
    assert "回复很快" in body

    again = signed_in.post(url, {"rating": "1", "comment": "改主意了"}, follow=True)

    assert "A conversation can be rated once, after it is closed." in again.content.decode()
    conversation.refresh_from_db()
    assert (conversation.rating, conversation.rating_comment) == (4, "回复很快")


def test_an_open_conversation_cannot_be_rated(settings, signed_in, conversation):
    settings.LANGUAGE_CODE = "en"
    url = reverse("support:rate", args=[conversation.pk])

    response = signed_in.post(url, {"rating": "5"}, follow=True)

    assert "A conversation can be rated once, after it is closed." in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.rating is None


def test_writing_into_a_closed_conversation_reopens_it(signed_in, conversation):
    services.close(conversation)

    signed_in.post(reverse("support:post", args=[conversation.pk]), {"body": "还有一个问题"})

    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.OPEN
    assert conversation.closed_at is None
    assert conversation.messages.last().body == "还有一个问题"
    body = page(signed_in, conversation)
    assert reverse("support:close", args=[conversation.pk]) in body
    assert 'name="rating"' not in body


def test_closing_twice_is_harmless(signed_in, conversation):
    url = reverse("support:close", args=[conversation.pk])
    signed_in.post(url)
    closed_at = Conversation.objects.get(pk=conversation.pk).closed_at

    assert signed_in.post(url).status_code == 302
    assert Conversation.objects.get(pk=conversation.pk).closed_at == closed_at


def test_closing_and_rating_take_only_posts(signed_in, conversation):
    for name in ("close", "rate", "post"):
        assert signed_in.get(reverse(f"support:{name}", args=[conversation.pk])).status_code == 405
