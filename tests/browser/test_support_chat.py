"""A shopper and a member of staff hold a conversation, each in their own browser:
neither reloads a page, both see the other's messages arrive."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from support.models import CannedReply, Conversation, Message, ServiceSettings

from .conftest import WIDTHS
from .test_admin_csp import signed_in_as_staff
from .test_pages import PASSWORD, log_in

pytestmark = pytest.mark.django_db(transaction=True)

ARRIVES = 20_000  # ms: both sides poll every few seconds


@pytest.fixture
def open_all_day(db):
    service = ServiceSettings.get_solo()
    service.open_days = "1234567"
    service.opens_at = service.closes_at = service.opens_at.replace(hour=0, minute=0)
    service.save()


@pytest.fixture
def private_storage(settings, tmp_path, monkeypatch):
    from django.core.files.storage import storages

    from support.models import Attachment

    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private")},
        },
    }
    monkeypatch.setattr(Attachment._meta.get_field("image"), "storage", storages["private"])


def test_a_shopper_and_staff_talk_without_reloading_and_the_shopper_rates_it(
    open_page, shop_server, make_user, screenshot, open_all_day, private_storage
):
    shopper = make_user("shopper", password=PASSWORD, first_name="敏", last_name="张")
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)
    CannedReply.objects.create(title="发票", body="您好，可以开具电子普通发票。")

    # the shopper asks from their phone
    phone = open_page(WIDTHS["phone"])
    log_in(phone, shopper.username)
    phone.goto(reverse("support:start"))
    phone.fill("textarea[name=body]", "请问这款酒可以开发票吗？")
    phone.locator("form:has(textarea[name=body]) [type=submit]").click()
    phone.wait_for_url(lambda url: "/support/" in url and url.rstrip("/").split("/")[-1].isdigit())
    conversation = Conversation.objects.get(customer=shopper)

    # staff find it in the inbox, unread, and open it
    desk = open_page(WIDTHS["desktop"])
    signed_in_as_staff(desk, shop_server, boss)
    desk.goto(reverse("admin:support_conversation_changelist"))
    row = desk.locator("#result_list tbody tr", has_text="张敏")
    assert row.count() == 1
    screenshot(desk, "support-inbox-desktop")
    desk.goto(reverse("admin:support_conversation_change", args=[conversation.pk]))
    assert "请问这款酒可以开发票吗？" in desk.locator("#support-thread").inner_text()

    # they answer with a canned reply, edited before sending
    desk.select_option("#support-canned", label="发票")
    reply_box = desk.locator("#support-reply-body")
    assert reply_box.input_value().startswith("您好，可以开具电子普通发票。")
    reply_box.fill(reply_box.input_value() + "请留下抬头和税号。")
    desk.locator("#support-reply [type=submit]").click()
    desk.wait_for_load_state()

    # the reply reaches the shopper's open page without a reload
    thread = phone.locator("[data-chat-thread]")
    thread.get_by_text("请留下抬头和税号。").wait_for(timeout=ARRIVES)

    # the shopper's answer (sent without leaving the page) reaches the staff's page
    phone.fill("textarea[name=body]", "抬头：上海醉香贸易有限公司")
    phone.locator("[data-chat-form] [type=submit]").click()
    desk.locator("#support-thread").get_by_text("抬头：上海醉香贸易有限公司").wait_for(
        timeout=ARRIVES
    )
    screenshot(desk, "support-conversation-desktop")

    # staff close it; the shopper's page offers the rating, and they give five stars
    desk.locator("input.support-close").click()
    desk.wait_for_load_state()
    rating = phone.locator("form.rating-form")
    rating.wait_for(timeout=ARRIVES)
    phone.locator(".stars label").first.click()  # reversed: the first label is 5 stars
    rating.locator("[type=submit]").click()
    phone.locator(".rating-given").wait_for()
    screenshot(phone, "support-conversation-phone")

    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.CLOSED
    assert conversation.rating == 5
    assert list(conversation.messages.values_list("sender", flat=True)) == [
        Message.Sender.CUSTOMER,
        Message.Sender.STAFF,
        Message.Sender.CUSTOMER,
    ]
