"""The inbox of customer service (客服会话) in the back office: its columns, boxes,
order, search, actions, the counts it refreshes by polling, and the dashboard's to-do."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from orders.models import Order
from reports import dashboard
from support import services
from support.models import Conversation

# Pictures go to a tmp private storage (tests/support/conftest.py, autouse); customer
# service is open round the clock (always_open): no automatic answers unless asked.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("always_open", "english")]

INBOX = reverse("admin:support_conversation_changelist")
COUNTS = reverse("admin:support_conversation_counts")


@pytest.fixture
def agent(staff):
    return staff("view_conversation", "change_conversation", first_name="小美", last_name="李")


@pytest.fixture
def customer(make_user):
    return make_user("xiaoming", first_name="小明", last_name="王", phone="13912345678")


def make_order(user, number):
    return Order.objects.create(
        number=number,
        user=user,
        status=Order.Status.PAID,
        subtotal=Decimal("99.00"),
        shipping_fee=Decimal("0.00"),
        total=Decimal("99.00"),
        recipient_name="王小明",
        recipient_phone="13912345678",
        shipping_address="上海市浦东新区世纪大道 100 号",
    )


def waited(conversation, minutes):
    """The shopper has waited `minutes` for an answer."""
    since = timezone.now() - timedelta(minutes=minutes)
    Conversation.objects.filter(pk=conversation.pk).update(waiting_since=since)


@pytest.fixture
def inbox(make_user, customer, agent, staff):
    """Four conversations: a long wait (25 min) about an order, a short wait (3 min),
    one answered by the agent, and a closed one."""
    other = make_user("lihua", first_name="华", last_name="李", phone="13700001111")
    colleague = staff("change_conversation", username="colleague")
    long_wait = services.start_conversation(
        customer, body="我的订单还没发货", order=make_order(customer, "T20260001")
    )
    waited(long_wait, 25)
    short_wait = services.start_conversation(other, body="有优惠券吗？")
    services.post_message(short_wait, other, body="在吗", as_staff=False)
    waited(short_wait, 3)
    third = make_user("zhaolei", first_name="磊", last_name="赵", phone="13700002222")
    answered = services.start_conversation(third, body="酒怎么储存")
    services.mark_read(answered, by_staff=True)  # read on its page, then answered
    services.post_message(answered, agent, body="请避光常温存放。", as_staff=True)
    closed = services.start_conversation(customer, body="谢谢")
    services.post_message(closed, colleague, body="不客气", as_staff=True)
    services.close(closed)
    return {"long": long_wait, "short": short_wait, "answered": answered, "closed": closed}


def listed(response) -> list[int]:
    return [conversation.pk for conversation in response.context["cl"].result_list]


def row_of(html: str, conversation) -> str:
    """The inbox's row of `conversation` (from its checkbox to the end of the row)."""
    start = html.index(f'value="{conversation.pk}"')
    return html[start : html.index("</tr>", start)]


# --- the list ---------------------------------------------------------------------------


def test_the_columns_show_who_what_the_last_message_and_the_wait(client, agent, inbox):
    client.force_login(agent)

    html = client.get(INBOX).text

    row = row_of(html, inbox["long"])
    assert "王小明" in row and "139****5678" in row and "13912345678" not in row
    assert "T20260001" in row
    assert "我的订单还没发货" in row
    assert 'class="support-status support-status-open"' in row
    assert "Unassigned" in row
    assert re.search(r'class="support-unread" data-conversation="\d+">1<', row)
    late = r'class="support-waiting is-late" data-conversation="\d+">waiting 25 minutes<'
    assert re.search(late, row)

    short = row_of(html, inbox["short"])
    assert ">2<" in short  # two unread messages
    assert 'class="support-waiting" data-conversation' in short  # 3 minutes: not late
    assert "waiting 3 minutes" in short

    answered = row_of(html, inbox["answered"])
    assert "Staff:" in answered and "请避光常温存放。" in answered
    assert "李小美" in answered  # the first to answer took it
    assert 'class="support-unread is-zero"' in answered


def test_open_conversations_come_first_the_longest_waiting_first(client, agent, inbox):
    client.force_login(agent)

    order = listed(client.get(INBOX))

    assert order == [inbox[key].pk for key in ("long", "short", "answered", "closed")]


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ("mine", ["answered"]),
        ("unassigned", ["long", "short"]),
        ("waiting", ["long", "short"]),
        ("open", ["long", "short", "answered"]),
        ("closed", ["closed"]),
    ],
)
def test_each_box_lists_its_conversations(client, agent, inbox, box, expected):
    client.force_login(agent)

    response = client.get(INBOX, {"box": box})

    assert listed(response) == [inbox[key].pk for key in expected]


def test_the_boxes_show_their_counts_and_the_now_line(client, agent, inbox):
    client.force_login(agent)

    html = client.get(INBOX).text

    counts = dict(re.findall(r'data-box="(\w+)">(\d+)<', html))
    assert counts == {"mine": "1", "unassigned": "2", "waiting": "2", "open": "3", "closed": "1"}
    assert '<strong data-now="waiting_too_long">1</strong>' in html
    assert reverse("admin:support_conversation_figures") in html


def test_the_assignee_filter(client, agent, inbox):
    client.force_login(agent)

    response = client.get(INBOX, {"assignee__id__exact": agent.pk})

    assert listed(response) == [inbox["answered"].pk]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("xiaoming", ["long", "closed"]),
        ("1370000", ["short", "answered"]),
        ("13700001111", ["short"]),
        ("王小明", ["long", "closed"]),
        ("T20260001", ["long"]),
    ],
    ids=["username", "phone-start", "phone", "full-name", "order-number"],
)
def test_search_by_customer_or_order(client, agent, inbox, query, expected):
    client.force_login(agent)

    response = client.get(INBOX, {"q": query})

    assert listed(response) == [inbox[key].pk for key in expected]


def test_conversations_are_neither_added_nor_deleted_by_hand(client, agent, inbox):
    client.force_login(agent)

    assert client.get(reverse("admin:support_conversation_add")).status_code == 403
    delete = reverse("admin:support_conversation_delete", args=[inbox["long"].pk])
    assert client.get(delete).status_code == 403
    html = client.get(INBOX).text
    assert "delete_selected" not in html
    assert reverse("admin:support_conversation_add") not in html


def test_the_list_takes_the_same_queries_for_few_and_many_conversations(
    client, agent, make_user, django_assert_max_num_queries
):
    def add(start, count):
        for n in range(start, start + count):
            shopper = make_user(f"c{n}", phone=f"1390000{n:04d}")
            conversation = services.start_conversation(
                shopper, body=f"问题{n}", order=make_order(shopper, f"T{n:08d}")
            )
            if n % 2:
                services.post_message(conversation, agent, body="您好", as_staff=True)

    add(0, 2)
    client.force_login(agent)
    with django_assert_max_num_queries(20) as few:
        client.get(INBOX)
    add(2, 20)

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(listed(client.get(INBOX))) == 22


# --- actions ----------------------------------------------------------------------------


def test_assign_selected_to_me_and_close_selected(client, agent, inbox):
    client.force_login(agent)
    chosen = [inbox["long"].pk, inbox["short"].pk]

    client.post(INBOX, {"action": "assign_to_me", "_selected_action": chosen})
    assert set(Conversation.objects.filter(assignee=agent).values_list("pk", flat=True)) == {
        *chosen,
        inbox["answered"].pk,
    }

    response = client.post(
        INBOX, {"action": "close_conversations", "_selected_action": chosen}, follow=True
    )
    assert "2 conversation(s) closed." in response.text
    assert Conversation.objects.filter(pk__in=chosen, status="closed").count() == 2


def test_readers_get_no_actions(client, staff, inbox):
    client.force_login(staff("view_conversation", username="reader"))

    response = client.get(INBOX)

    assert response.status_code == 200
    assert 'name="action"' not in response.text


def test_staff_without_the_permission_cannot_open_the_inbox(client, staff, inbox):
    client.force_login(staff("view_order", username="clerk"))

    assert client.get(INBOX).status_code == 403
    assert client.get(COUNTS).status_code == 403


# --- the counts the inbox polls ------------------------------------------------------------


def test_the_counts_give_each_listed_row_its_unread_and_wait(client, agent, inbox, customer):
    client.force_login(agent)
    services.post_message(inbox["long"], customer, body="还在吗", as_staff=False)
    ids = ",".join(str(inbox[key].pk) for key in ("long", "answered", "closed"))

    data = client.get(COUNTS, {"ids": ids}).json()

    long_row = data["rows"][str(inbox["long"].pk)]
    assert long_row == {"unread": 2, "text": "waiting 25 minutes", "late": True}
    assert data["rows"][str(inbox["answered"].pk)] == {"unread": 0, "text": "", "late": False}
    assert str(inbox["short"].pk) not in data["rows"]  # only what the page lists
    assert data["boxes"] == {"mine": 1, "unassigned": 2, "waiting": 2, "open": 3, "closed": 1}
    assert data["now"]["waiting_too_long"] == 1


@pytest.mark.parametrize("rows", [2, 20])
def test_the_counts_cost_the_same_queries_for_few_and_many_rows(
    client, agent, make_user, django_assert_num_queries, rows
):
    ids = [services.start_conversation(make_user(f"c{n}"), body="你好").pk for n in range(rows)]
    client.force_login(agent)

    # session, user, permissions (2), the rows, the boxes
    with django_assert_num_queries(6):
        data = client.get(COUNTS, {"ids": ",".join(map(str, ids))}).json()

    assert len(data["rows"]) == rows


def test_the_inbox_script_gets_its_settings_as_json(client, agent, inbox):
    client.force_login(agent)

    html = client.get(INBOX).text

    assert 'id="support-inbox-data" type="application/json"' in html
    assert COUNTS in html
    assert "admin/js/support-inbox.js" in html


# --- the dashboard's to-do ------------------------------------------------------------------


def test_the_dashboard_counts_the_conversations_awaiting_a_reply(admin_client, inbox):
    todo = {todo.key: todo for todo in dashboard.todo_counts()}["support"]

    assert todo.count == 2
    response = admin_client.get(todo.url)
    assert set(listed(response)) == {inbox["long"].pk, inbox["short"].pk}
    assert todo.url in admin_client.get(reverse("admin:index")).text
