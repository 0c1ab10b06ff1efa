"""Opening hours as the shopper meets them: a notice on the pages outside them, and one
automatic answer per wait (the clock of support.services is set, as other tests set
the storefront's)."""

import datetime
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from support import services
from support.models import Message, ServiceSettings

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


@pytest.fixture
def clock(monkeypatch):
    """support.services' moment (the shop's clock for hours and messages' times)."""
    moment = SimpleNamespace(now=timezone.now())
    monkeypatch.setattr(
        services, "timezone", SimpleNamespace(now=lambda: moment.now, localtime=timezone.localtime)
    )
    return moment


@pytest.fixture
def nine_to_nine(db):
    service = ServiceSettings.get_solo()
    service.opens_at, service.closes_at = datetime.time(9), datetime.time(21)
    service.open_days = "1234567"
    service.save()
    return service


def at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    """A moment of December 2026 in the shop's time (Asia/Shanghai)."""
    return datetime.datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


def automatic_answers(conversation) -> int:
    return conversation.messages.filter(sender=Message.Sender.SYSTEM).count()


def test_outside_hours_one_automatic_answer_per_wait(
    client, customer, support_staff, nine_to_nine, clock
):
    client.force_login(customer)
    clock.now = at(3, 23, 0)
    client.post(reverse("support:start"), {"body": "在吗？"})
    conversation = customer.support_conversations.get()
    assert automatic_answers(conversation) == 1

    clock.now = at(3, 23, 5)  # still waiting: no second answer
    client.post(reverse("support:post", args=[conversation.pk]), {"body": "有人吗？"})
    assert automatic_answers(conversation) == 1

    clock.now = at(4, 9, 30)  # answered in the morning
    services.post_message(conversation, support_staff, body="早上好，您请说。", as_staff=True)

    clock.now = at(4, 22, 0)  # a new question after hours: a new wait
    client.post(reverse("support:post", args=[conversation.pk]), {"body": "晚上再问一个"})
    assert automatic_answers(conversation) == 2

    body = client.get(conversation.get_absolute_url()).content.decode()
    assert body.count('class="chat-message from-system"') == 2
    assert ServiceSettings.get_solo().away_message.split("，")[0] in body


def test_in_opening_hours_no_automatic_answer(client, customer, nine_to_nine, clock):
    client.force_login(customer)
    clock.now = at(3, 10, 0)
    client.post(reverse("support:start"), {"body": "请问发货时间"})
    assert automatic_answers(customer.support_conversations.get()) == 0


def test_the_pages_tell_the_hours_outside_them(client, customer, conversation, nine_to_nine, clock):
    client.force_login(customer)
    pages = [reverse("support:start"), conversation.get_absolute_url()]

    clock.now = at(3, 22, 30)
    for url in pages:
        assert "chat-hours" in client.get(url).content.decode(), url

    clock.now = at(3, 15, 0)
    for url in pages:
        assert "chat-hours" not in client.get(url).content.decode(), url


def test_the_notice_names_the_days_open(settings, client, customer, nine_to_nine, clock):
    settings.LANGUAGE_CODE = "en"
    nine_to_nine.open_days = "12345"
    nine_to_nine.save()
    client.force_login(customer)
    clock.now = at(5, 12, 0)  # a Saturday

    body = client.get(reverse("support:start")).content.decode()

    assert "open Mon, Tue, Wed, Thu, Fri, 09:00–21:00" in body
