"""A conversation's page in the back office: the thread, the reply box with canned
replies and pictures, assignment, close and reopen, the customer beside it, and the
poll that brings new messages without reloading."""

import re
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from crm import segments
from orders.models import Order
from support import services
from support.models import Attachment, CannedReply, Conversation, Message

# Pictures go to a tmp private storage (tests/support/conftest.py, autouse); customer
# service is open round the clock (always_open): no automatic answers unless asked.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("always_open", "english")]


@pytest.fixture
def agent(staff):
    return staff(
        "view_conversation",
        "change_conversation",
        "view_order",
        "view_customerprofile",
        first_name="小美",
        last_name="李",
    )


@pytest.fixture
def customer(make_user):
    return make_user("xiaoming", first_name="小明", last_name="王", phone="13912345678")


@pytest.fixture
def order(customer):
    return Order.objects.create(
        number="T20260001",
        user=customer,
        status=Order.Status.PAID,
        subtotal=Decimal("1299.00"),
        shipping_fee=Decimal("0.00"),
        total=Decimal("1299.00"),
        recipient_name="王小明",
        recipient_phone="13912345678",
        shipping_address="上海市浦东新区世纪大道 100 号",
    )


@pytest.fixture
def conversation(customer, order):
    return services.start_conversation(customer, body="请问什么时候发货？", order=order)


def page(conversation) -> str:
    return reverse("admin:support_conversation_change", args=[conversation.pk])


def url(name, conversation) -> str:
    return reverse(f"admin:support_conversation_{name}", args=[conversation.pk])


def png(name="photo.png", size=(40, 30)) -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def sides(html: str) -> list[str]:
    """The senders of the thread's messages, in order, as the page marks them."""
    return re.findall(r'class="support-msg support-msg-(\w+)"', html)


# --- the page -------------------------------------------------------------------------


def test_the_thread_marks_each_side_and_the_automatic_answers(client, agent, conversation):
    services.post_message(conversation, agent, body="您好，今天下午发出。", as_staff=True)
    Message.objects.create(
        conversation=conversation, sender=Message.Sender.SYSTEM, body="客服下班了"
    )
    client.force_login(agent)

    html = client.get(page(conversation)).text

    assert sides(html) == ["customer", "staff", "system"]
    assert "请问什么时候发货？" in html and "您好，今天下午发出。" in html
    assert "Automatic answer" in html
    assert "Customer service · 李小美" in html  # who answered


def test_pictures_show_as_thumbnails_linking_to_the_protected_picture(
    client, agent, customer, conversation
):
    services.post_message(conversation, customer, body="", files=[png()], as_staff=False)
    picture = Attachment.objects.get()
    client.force_login(agent)

    html = client.get(page(conversation)).text

    link = reverse("support:attachment", args=[picture.pk])
    assert f'<a href="{link}"' in html
    assert f'<img src="{link}" width="40" height="30"' in html
    # and the picture itself is served to this staff member
    assert client.get(link).status_code == 200


def test_opening_the_page_marks_the_customers_messages_read(client, agent, customer, conversation):
    services.post_message(conversation, customer, body="在吗？", as_staff=False)
    assert Conversation.objects.get().staff_unread == 2
    client.force_login(agent)

    client.get(page(conversation))

    assert Conversation.objects.get().staff_unread == 0


def test_beside_the_thread_the_customer_their_orders_and_the_order_asked_about(
    client, agent, customer, order, conversation
):
    segments.refresh_profiles(user_ids=[customer.pk])
    client.force_login(agent)

    html = client.get(page(conversation)).text

    assert "王小明" in html and "139****5678" in html
    assert "13912345678" not in html  # the number stays masked
    assert 'class="segment-badge' in html
    assert "About this order" in html
    order_page = reverse("admin:orders_order_change", args=[order.pk])
    assert html.count(f'href="{order_page}"') == 2  # the order asked about, the recent orders
    assert reverse("admin:crm_customerprofile_change", args=[customer.pk]) in html


def test_the_canned_replies_picker_offers_the_active_ones_to_insert(client, agent, conversation):
    CannedReply.objects.create(title="发货时间", body="付款后 48 小时内发货。", position=2)
    CannedReply.objects.create(title="发票", body="可以开电子发票。", position=1)
    CannedReply.objects.create(title="旧回复", body="不用了", is_active=False)
    client.force_login(agent)

    html = client.get(page(conversation)).text

    picker = html[html.index('id="support-canned"') : html.index("</select>")]
    assert re.findall(r">([^<]+)</option>", picker)[1:] == ["发票", "发货时间"]
    assert 'data-body="付款后 48 小时内发货。"' in picker
    assert "旧回复" not in picker
    assert 'data-target="support-reply-body"' in picker and 'id="support-reply-body"' in html


def test_a_reader_without_the_change_permission_sees_no_reply_box(client, staff, conversation):
    client.force_login(staff("view_conversation"))

    response = client.get(page(conversation))

    assert response.status_code == 200
    assert "请问什么时候发货？" in response.text
    assert 'id="support-reply"' not in response.text
    assert "Close conversation" not in response.text


def test_staff_without_the_view_permission_cannot_open_it(client, staff, conversation):
    client.force_login(staff("view_order"))

    assert client.get(page(conversation)).status_code == 403
    assert client.get(url("poll", conversation)).status_code == 403


def test_no_such_conversation_is_not_found(client, agent, db):
    client.force_login(agent)

    response = client.get(reverse("admin:support_conversation_change", args=[999]))

    assert response.status_code == 404


def test_the_page_takes_the_same_queries_for_a_short_and_a_long_thread(
    client, agent, customer, conversation, django_assert_max_num_queries, make_user
):
    client.force_login(agent)
    with django_assert_max_num_queries(20) as short:
        client.get(page(conversation))
    for n in range(15):
        services.post_message(
            conversation, customer, body=f"第{n}条", files=[png()], as_staff=False
        )
        services.post_message(conversation, agent, body=f"回复{n}", as_staff=True)

    with django_assert_max_num_queries(len(short.captured_queries)):
        assert client.get(page(conversation)).status_code == 200


# --- replying -------------------------------------------------------------------------


def test_a_reply_is_posted_as_staff_and_ends_the_wait(client, agent, conversation):
    client.force_login(agent)

    response = client.post(
        url("reply", conversation), {"body": "您好，今天下午发出。", "pictures": [png()]}
    )

    assert response.status_code == 302
    assert response["Location"].endswith(page(conversation) + "#support-reply")
    reply = Message.objects.get(sender=Message.Sender.STAFF)
    assert (reply.author, reply.body) == (agent, "您好，今天下午发出。")
    assert reply.attachments.count() == 1
    conversation.refresh_from_db()
    assert conversation.waiting_since is None
    assert conversation.assignee == agent
    assert conversation.customer_unread == 1


def test_replying_assigning_closing_and_reopening_need_the_change_permission(
    client, staff, conversation
):
    client.force_login(staff("view_conversation"))

    for name, data in (
        ("reply", {"body": "你好"}),
        ("assign", {"me": "1"}),
        ("close", {}),
        ("reopen", {}),
    ):
        assert client.post(url(name, conversation), data).status_code == 403, name

    conversation.refresh_from_db()
    assert conversation.messages.count() == 1
    assert (conversation.assignee, conversation.status) == (None, Conversation.Status.OPEN)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"body": "   "}, "Write a message or attach a picture."),
        ({"body": "长" * 2001}, "A message can be at most 2000 characters; split it in two."),
        (
            {"body": "看图", "pictures": [SimpleUploadedFile("x.png", b"<script>", "image/png")]},
            "x.png is not a picture (JPEG, PNG, WebP or GIF).",
        ),
        (
            {"body": "看图", "pictures": "five"},
            "Attach at most 4 pictures to one message.",
        ),
    ],
    ids=["empty", "too-long", "not-a-picture", "too-many-pictures"],
)
def test_a_refused_reply_shows_why_on_the_page_and_stores_nothing(
    client, agent, conversation, data, error
):
    if data.get("pictures") == "five":
        data = {**data, "pictures": [png(f"p{n}.png") for n in range(5)]}
    client.force_login(agent)

    response = client.post(url("reply", conversation), data)

    assert response.status_code == 200
    assert error in response.text
    assert Message.objects.filter(sender=Message.Sender.STAFF).count() == 0
    assert Attachment.objects.count() == 0
    if data["body"].strip() and len(data["body"]) <= 2000:
        assert data["body"] in response.text  # what was typed stays in the box


def test_a_closed_conversation_offers_reopening_instead_of_a_reply(client, agent, conversation):
    services.close(conversation)
    client.force_login(agent)

    html = client.get(page(conversation)).text

    assert 'id="support-reply"' not in html
    assert url("reopen", conversation) in html
    response = client.post(url("reply", conversation), {"body": "还在吗"})
    assert "This conversation is closed." in response.text
    assert Message.objects.filter(sender=Message.Sender.STAFF).count() == 0


def test_a_reply_to_a_conversation_closed_meanwhile_keeps_its_text_and_says_why(
    client, agent, conversation
):
    # given the reply box open while another staff member closes the conversation
    client.force_login(agent)
    client.get(page(conversation))
    services.close(conversation)

    # when the reply is sent
    response = client.post(url("reply", conversation), {"body": "您好，我查一下物流"})

    # then it is refused on the form, with what was typed
    assert "The reply was not sent:" in response.text
    assert "您好，我查一下物流</textarea>" in response.text
    assert Message.objects.filter(sender=Message.Sender.STAFF).count() == 0


# --- assigning, closing, reopening --------------------------------------------------------


def test_assign_to_another_staff_member_to_me_and_back_to_nobody(
    client, agent, staff, conversation
):
    colleague = staff("change_conversation", username="colleague", first_name="强", last_name="张")
    client.force_login(agent)

    html = client.get(page(conversation)).text
    assert "张强 (colleague)" in html and "李小美 (agent)" in html  # who may answer
    client.post(url("assign", conversation), {"assignee": colleague.pk})
    assert Conversation.objects.get().assignee == colleague

    response = client.post(url("assign", conversation), {"me": "1"}, follow=True)
    assert Conversation.objects.get().assignee == agent
    assert "Assigned to 李小美 (agent)." in response.text

    client.post(url("assign", conversation), {"assignee": ""})
    assert Conversation.objects.get().assignee is None


def test_only_staff_who_may_answer_can_be_assigned(client, agent, staff, customer, conversation):
    reader = staff("view_conversation", username="reader")
    client.force_login(agent)

    for nobody in (reader, customer):
        response = client.post(url("assign", conversation), {"assignee": nobody.pk})
        assert response.status_code == 200
        assert "Select a valid choice" in response.text
    assert Conversation.objects.get().assignee is None


def test_close_then_reopen(client, agent, conversation):
    client.force_login(agent)

    response = client.post(url("close", conversation), follow=True)
    assert Conversation.objects.get().status == Conversation.Status.CLOSED
    assert "Conversation closed" in response.text
    assert "Reopen" in response.text

    client.post(url("reopen", conversation))
    assert Conversation.objects.get().status == Conversation.Status.OPEN


def test_a_get_changes_nothing(client, agent, conversation):
    client.force_login(agent)

    for name in ("reply", "assign", "close", "reopen"):
        assert client.get(url(name, conversation)).status_code == 302

    conversation.refresh_from_db()
    assert (conversation.status, conversation.assignee) == (Conversation.Status.OPEN, None)


def test_the_rating_shows_once_given(client, agent, conversation):
    services.post_message(conversation, agent, body="好的", as_staff=True)
    services.close(conversation)
    services.rate(conversation, rating=4, comment="回复挺快")
    client.force_login(agent)

    html = client.get(page(conversation)).text

    assert "★★★★☆" in html and "4/5" in html and "回复挺快" in html


# --- polling --------------------------------------------------------------------------


def test_the_poll_brings_the_new_messages_as_html_and_marks_them_read(
    client, agent, customer, conversation
):
    client.force_login(agent)
    client.get(page(conversation))
    seen = Message.objects.get().pk

    services.post_message(conversation, customer, body="我再问一下", files=[png()], as_staff=False)
    data = client.get(url("poll", conversation), {"after": seen}).json()

    assert [m["id"] for m in data["messages"]] == [seen + 1]
    fragment = data["messages"][0]["html"]
    assert "我再问一下" in fragment and "support-msg-customer" in fragment
    picture = Attachment.objects.get()
    assert reverse("support:attachment", args=[picture.pk]) in fragment
    assert data["last_id"] == seen + 1
    assert data["status"] == "open" and data["waiting"]["text"].startswith("waiting")
    assert Conversation.objects.get().staff_unread == 0
    # nothing new: nothing sent
    again = client.get(url("poll", conversation), {"after": data["last_id"]}).json()
    assert again["messages"] == [] and again["last_id"] == data["last_id"]


def test_a_message_arriving_during_a_poll_is_shown_or_stays_unread(
    client, agent, customer, conversation, monkeypatch
):
    client.force_login(agent)
    seen = Message.objects.get().pk
    mark_read = services.mark_read

    def customer_writes_meanwhile(conversation, **kwargs):
        services.post_message(conversation, customer, body="在吗？", as_staff=False)
        mark_read(conversation, **kwargs)

    monkeypatch.setattr(services, "mark_read", customer_writes_meanwhile)
    data = client.get(url("poll", conversation), {"after": seen}).json()

    shown = any("在吗？" in message["html"] for message in data["messages"])
    assert shown or Conversation.objects.get().staff_unread == 1


def test_script_in_messages_names_and_canned_replies_is_shown_as_text(
    client, agent, make_user, order
):
    script = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    shopper = make_user("mallory", first_name=script, last_name=script)
    conversation = services.start_conversation(shopper, body=script)
    CannedReply.objects.create(title=script, body=script)
    services.post_message(conversation, agent, body=script, as_staff=True)
    client.force_login(agent)

    polled = client.get(url("poll", conversation), {"after": 0}).json()["messages"]
    pages = {
        "inbox": client.get(reverse("admin:support_conversation_changelist")).text,
        "page": client.get(page(conversation)).text,
        "poll": "".join(message["html"] for message in polled),
    }

    for name, html in pages.items():
        assert "<script>alert" not in html and "<img src=x" not in html, name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, name
    assert 'data-body="&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img' in pages["page"]


POLL_QUERIES = 8  # session, user, permissions (2), conversation, messages, pictures, mark read


@pytest.mark.parametrize("arrived", [1, 20])
def test_a_poll_costs_the_same_queries_however_many_messages_arrived(
    client, agent, customer, conversation, django_assert_num_queries, arrived
):
    client.force_login(agent)
    seen = Message.objects.get().pk
    for n in range(arrived):
        services.post_message(
            conversation, customer, body=f"第{n}条", files=[png()], as_staff=False
        )

    with django_assert_num_queries(POLL_QUERIES):
        data = client.get(url("poll", conversation), {"after": seen}).json()

    assert len(data["messages"]) == arrived


def test_no_template_script_or_style_inline_on_the_page(client, agent, conversation):
    """The strict CSP allows no inline script: the settings travel as JSON data."""
    client.force_login(agent)

    html = client.get(page(conversation)).text

    assert 'id="support-thread-data" type="application/json"' in html
    assert "support-inbox.js" in html
    scripts = re.findall(r"<script(?![^>]*(?:src=|application/json))[^>]*>", html)
    assert scripts == []
