"""The shopper's customer-service pages: my conversations, a new one, the thread, the
reply, closing and rating, and the links that lead there."""

import re

import pytest
from django.urls import reverse

from support import services
from support.models import Conversation, Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, customer):
    client.force_login(customer)
    return client


def thread_of(body: str) -> list[tuple[str, str]]:
    """(sender, text) of each message of a rendered thread, in order."""
    items = re.findall(
        r'<li class="chat-message from-(\w+)".*?'
        r'(?:chat-bubble">|chat-auto-text">)(.*?)</(?:div|p)>',
        body,
        re.S,
    )
    return [(sender, text.strip()) for sender, text in items]


# --- My conversations ---------------------------------------------------------------


def test_my_conversations_lists_mine_newest_first_with_excerpt_unread_and_status(
    signed_in, customer, other_customer, support_staff, customer_order, always_open
):
    older = services.start_conversation(customer, body="发票怎么开？")
    services.close(older)
    newer = services.start_conversation(customer, body="什么时候发货？", order=customer_order)
    services.post_message(newer, support_staff, body="今天下午就发出。", as_staff=True)
    services.post_message(newer, support_staff, body="请留意短信。", as_staff=True)
    services.start_conversation(other_customer, body="别人的问题")

    body = signed_in.get(reverse("support:list")).content.decode()

    assert body.index(newer.get_absolute_url()) < body.index(older.get_absolute_url())
    assert "别人的问题" not in body
    assert customer_order.number in body  # the order it is about
    assert "请留意短信。" in body  # the last message's excerpt
    assert '<span class="unread-dot">2</span>' in body
    assert "已结束" in body
    assert f'href="{reverse("support:start")}"' in body  # a new conversation


def test_a_long_last_message_is_cut_in_the_list(signed_in, customer, always_open):
    services.start_conversation(customer, body="长" * 300)
    body = signed_in.get(reverse("support:list")).content.decode()
    excerpt = re.search(r'conversation-excerpt">(.*?)</span>', body)[1]
    assert excerpt.startswith("长" * 50)
    assert len(excerpt) <= 62  # about 60 characters and the ellipsis


def test_with_no_conversation_the_list_invites_to_start_one(signed_in):
    body = signed_in.get(reverse("support:list")).content.decode()
    assert "empty-state" in body
    assert reverse("support:start") in body


# --- Starting a conversation ----------------------------------------------------


def test_the_start_page_shows_a_form_for_text_and_pictures(signed_in):
    body = signed_in.get(reverse("support:start")).content.decode()
    assert 'name="body"' in body
    assert re.search(r'<input type="file" name="pictures"[^>]* multiple', body)
    assert 'enctype="multipart/form-data"' in body


def test_starting_a_conversation_stores_it_and_opens_it(signed_in, customer, always_open):
    response = signed_in.post(reverse("support:start"), {"body": "请问可以开发票吗？"})

    conversation = Conversation.objects.get(customer=customer)
    assert response.status_code == 302
    assert response.url == conversation.get_absolute_url()
    assert conversation.topic == Conversation.Topic.GENERAL
    assert list(conversation.messages.values_list("sender", "body")) == [
        (Message.Sender.CUSTOMER, "请问可以开发票吗？")
    ]


def test_asking_about_an_order_links_the_conversation_to_it(
    signed_in, customer, customer_order, always_open
):
    url = f"{reverse('support:start')}?order={customer_order.number}"
    page = signed_in.get(url).content.decode()
    assert customer_order.number in page
    assert customer_order.get_absolute_url() in page

    signed_in.post(url, {"body": "这个订单能改地址吗？"})

    conversation = Conversation.objects.get(customer=customer)
    assert (conversation.topic, conversation.order) == (Conversation.Topic.ORDER, customer_order)
    thread = signed_in.get(conversation.get_absolute_url()).content.decode()
    assert f'href="{customer_order.get_absolute_url()}"' in thread


def test_asking_about_an_after_sale_request_links_both(
    signed_in, customer, customer_after_sale, always_open
):
    url = f"{reverse('support:start')}?after_sale={customer_after_sale.pk}"
    assert signed_in.get(url).status_code == 200

    signed_in.post(url, {"body": "退款多久到账？"})

    conversation = Conversation.objects.get(customer=customer)
    assert conversation.topic == Conversation.Topic.AFTER_SALE
    assert conversation.after_sale == customer_after_sale
    assert conversation.order == customer_after_sale.order


def test_asking_again_about_the_same_order_continues_the_open_conversation(
    signed_in, customer, customer_order, always_open
):
    url = f"{reverse('support:start')}?order={customer_order.number}"
    signed_in.post(url, {"body": "第一次"})
    conversation = Conversation.objects.get()

    page = signed_in.get(url).content.decode()
    assert conversation.get_absolute_url() in page  # told, with a link to it
    signed_in.post(url, {"body": "第二次"})

    assert Conversation.objects.count() == 1
    assert list(conversation.messages.values_list("body", flat=True)) == ["第一次", "第二次"]


# --- The thread ----------------------------------------------------------------


def test_the_thread_shows_each_side_apart_and_reading_it_clears_the_unread(
    signed_in, conversation, support_staff
):
    services.post_message(conversation, support_staff, body="您好，放阴凉处即可。", as_staff=True)
    assert Conversation.objects.get(pk=conversation.pk).customer_unread == 1

    body = signed_in.get(conversation.get_absolute_url()).content.decode()

    assert thread_of(body) == [
        ("customer", "你好，请问白酒怎么保存？"),
        ("staff", "您好，放阴凉处即可。"),
    ]
    assert "小美" in body  # who answered
    conversation.refresh_from_db()
    assert conversation.customer_unread == 0
    assert conversation.customer_seen_at is not None


def test_replying_adds_the_message_and_comes_back_to_the_thread(signed_in, conversation):
    response = signed_in.post(reverse("support:post", args=[conversation.pk]), {"body": "谢谢"})

    assert response.status_code == 302
    assert response.url == conversation.get_absolute_url() + "#latest"
    assert conversation.messages.last().body == "谢谢"


def test_a_reply_sent_by_the_page_script_gets_json(signed_in, conversation):
    url = reverse("support:post", args=[conversation.pk])
    ok = signed_in.post(url, {"body": "在吗"}, headers={"Accept": "application/json"})
    refused = signed_in.post(url, {"body": " "}, headers={"Accept": "application/json"})

    assert ok.json() == {"ok": True}
    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["body"]
    assert conversation.messages.count() == 2


def test_a_message_keeps_its_line_breaks(signed_in, conversation):
    services.post_message(
        conversation, conversation.customer, body="第一行\n第二行", as_staff=False
    )
    body = signed_in.get(conversation.get_absolute_url()).content.decode()
    assert "第一行<br>第二行" in body


def test_the_thread_loads_its_script_as_a_file_with_its_poll_address(signed_in, conversation):
    body = signed_in.get(conversation.get_absolute_url()).content.decode()
    assert re.search(r'<script src="[^"]*/js/support-chat\.js" defer></script>', body)
    assert f'data-poll-url="{reverse("support:poll", args=[conversation.pk])}"' in body
    last = conversation.messages.last()
    assert f'data-last-id="{last.pk}"' in body


# --- Ways in ---------------------------------------------------------------------


def test_every_page_links_to_customer_service_in_its_footer(client):
    body = client.get(reverse("catalog:home")).content.decode()
    assert f'href="{reverse("support:start")}"' in body


def test_my_account_links_to_my_conversations(signed_in):
    body = signed_in.get(reverse("accounts:profile")).content.decode()
    assert f'href="{reverse("support:list")}"' in body


def test_an_order_page_offers_to_ask_about_the_order(signed_in, customer_order):
    body = signed_in.get(customer_order.get_absolute_url()).content.decode()
    assert f'href="{reverse("support:start")}?order={customer_order.number}"' in body


def test_an_after_sale_request_offers_to_ask_about_it(signed_in, customer_after_sale):
    body = signed_in.get(customer_after_sale.order.get_absolute_url()).content.decode()
    assert f'href="{reverse("support:start")}?after_sale={customer_after_sale.pk}"' in body
