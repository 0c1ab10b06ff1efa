"""The message centre (站内信): a person's own messages, read and unread, and nobody else's."""

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Kind, SiteMessage
from notifications.services import notify

pytestmark = pytest.mark.django_db


def order_placed(user, n: int, *, link="/orders/") -> SiteMessage:
    order = SimpleNamespace(number=f"20261201{n:08d}", total=Decimal("99.00"))
    return notify(
        user, Kind.ORDER_PLACED, key=f"order:{n}:placed", context={"order": order}, link=link
    )


def commission_accrued(user, n: int) -> SiteMessage:
    order = SimpleNamespace(number=f"20261202{n:08d}")
    return notify(
        user,
        Kind.COMMISSION_ACCRUED,
        key=f"commission:{n}:accrued",
        context={"amount": Decimal("12.50"), "order": order},
    )


def aged(message: SiteMessage, hours: int) -> SiteMessage:
    SiteMessage.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - timedelta(hours=hours)
    )
    return message


@pytest.fixture
def signed_in(client, shopper):
    client.force_login(shopper)
    return client


def titles(response) -> list[str]:
    return [message.title for message in response.context["page"].object_list]


def test_message_centre_needs_sign_in(client):
    response = client.get(reverse("notifications:list"))

    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_the_centre_lists_only_my_messages_newest_first(signed_in, shopper, make_user):
    older = aged(order_placed(shopper, 1), hours=5)
    newer = aged(commission_accrued(shopper, 2), hours=1)
    order_placed(make_user("someone"), 3)

    response = signed_in.get(reverse("notifications:list"))

    assert titles(response) == [newer.title, older.title]
    assert newer.body in response.content.decode()


def test_unread_tab_and_category_tab(signed_in, shopper):
    read = order_placed(shopper, 1)
    unread_order = order_placed(shopper, 2)
    earning = commission_accrued(shopper, 3)
    SiteMessage.objects.filter(pk=read.pk).update(read_at=timezone.now())

    unread = signed_in.get(reverse("notifications:list"), {"tab": "unread"})
    earnings = signed_in.get(reverse("notifications:list"), {"tab": "earnings"})

    assert sorted(titles(unread)) == sorted([unread_order.title, earning.title])
    assert titles(earnings) == [earning.title]


def test_unread_messages_carry_a_dot(signed_in, shopper):
    order_placed(shopper, 1)
    SiteMessage.objects.filter(recipient=shopper).update(read_at=timezone.now())
    order_placed(shopper, 2)

    html = signed_in.get(reverse("notifications:list")).content.decode()

    assert html.count('class="unread-dot"') == 1


def test_opening_a_message_marks_it_read_and_follows_its_link(signed_in, shopper):
    message = order_placed(shopper, 1, link="/orders/")

    response = signed_in.get(reverse("notifications:open", args=[message.pk]))

    assert response.status_code == 302
    assert response["Location"] == "/orders/"
    message.refresh_from_db()
    assert message.is_read


def test_a_message_without_a_link_is_shown_and_read(signed_in, shopper):
    message = commission_accrued(shopper, 1)

    response = signed_in.get(reverse("notifications:open", args=[message.pk]))

    assert response.status_code == 200
    assert message.title in response.content.decode()
    message.refresh_from_db()
    assert message.is_read


def test_a_link_off_the_site_is_never_followed(signed_in, shopper):
    message = order_placed(shopper, 1, link="https://evil.example/phish")

    response = signed_in.get(reverse("notifications:open", args=[message.pk]))

    assert response.status_code == 200
    assert "evil.example" not in response.get("Location", "")


def test_a_reason_bearing_markup_is_shown_as_text(signed_in, shopper):
    # given: a rejection whose reason (typed by staff, stored as plain text) holds markup
    withdrawal = SimpleNamespace(pk=7, amount=Decimal("6.00"))
    message = notify(
        shopper,
        Kind.WITHDRAWAL_REJECTED,
        key="withdrawal:7:rejected",
        context={"withdrawal": withdrawal, "reason": "<script>alert(1)</script> & more"},
    )
    assert "<script>alert(1)</script> & more" in message.body

    centre = signed_in.get(reverse("notifications:list")).content.decode()
    page = signed_in.get(reverse("notifications:open", args=[message.pk])).content.decode()

    for html in (centre, page):
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html


def test_another_persons_message_is_not_found_and_stays_unread(signed_in, make_user):
    theirs = order_placed(make_user("someone"), 1)

    response = signed_in.get(reverse("notifications:open", args=[theirs.pk]))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert not theirs.is_read


def test_mark_all_read_reads_mine_only(signed_in, shopper, make_user):
    order_placed(shopper, 1)
    commission_accrued(shopper, 2)
    theirs = order_placed(make_user("someone"), 3)

    response = signed_in.post(reverse("notifications:mark_all_read"), {"tab": "earnings"})

    assert response.status_code == 302
    assert response["Location"] == reverse("notifications:list") + "?tab=earnings"
    assert not SiteMessage.objects.filter(recipient=shopper, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert not theirs.is_read


def test_mark_all_read_is_a_post(signed_in, shopper):
    order_placed(shopper, 1)

    response = signed_in.get(reverse("notifications:mark_all_read"))

    assert response.status_code == 405
    assert SiteMessage.objects.filter(recipient=shopper, read_at__isnull=True).exists()


def test_twenty_messages_a_page(signed_in, shopper):
    for n in range(25):
        aged(order_placed(shopper, n), hours=n)

    first = signed_in.get(reverse("notifications:list"))
    second = signed_in.get(reverse("notifications:list"), {"page": 2})

    assert len(titles(first)) == 20
    assert len(titles(second)) == 5
    assert titles(second)[-1] == SiteMessage.objects.order_by("created_at").first().title


# session, user, the page's count, its rows, the header's unread counts (one query)
LIST_QUERIES = 5


@pytest.mark.parametrize("size", [3, 60])
def test_the_centre_runs_a_fixed_number_of_queries(
    signed_in, shopper, size, django_assert_num_queries
):
    for n in range(size):
        commission_accrued(shopper, n) if n % 2 else order_placed(shopper, n)

    with django_assert_num_queries(LIST_QUERIES):
        response = signed_in.get(reverse("notifications:list"))

    assert len(titles(response)) == min(size, 20)
