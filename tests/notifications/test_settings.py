"""通知设置: channels per category, the mobile phone, and the language messages are written in."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from notifications.models import NotificationSettings

pytestmark = pytest.mark.django_db

PASSWORD = "pw-123456-long"


def url(name: str, language: str = "zh-hans") -> str:
    with translation.override(language):
        return reverse(name)


@pytest.fixture
def signed_in(client, shopper):
    client.force_login(shopper)
    return client


def form_data(**changes) -> dict:
    data = {
        "email_orders": "on",
        "sms_orders": "on",
        "email_earnings": "on",
        "email_team": "on",
        "email_service": "on",
        "phone": "",
        "language": "zh-hans",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def test_sms_is_offered_only_where_an_event_sends_one(signed_in, settings):
    settings.SMS_TEMPLATES = {"order_shipped": "SMS_1", "withdrawal_paid": "SMS_2"}

    html = signed_in.get(url("notifications:settings")).content.decode()

    for category in ("orders", "earnings", "team", "service"):
        assert f'name="email_{category}"' in html
    assert 'name="sms_orders"' in html
    assert 'name="sms_earnings"' in html
    assert 'name="sms_team"' not in html
    assert 'name="sms_service"' not in html


def test_the_first_save_makes_the_settings(signed_in, shopper):
    response = signed_in.post(
        url("notifications:settings"),
        form_data(email_team=None, sms_orders=None, phone=" 13800138000 ", language="en"),
    )

    assert response.status_code == 302
    prefs = NotificationSettings.objects.get(user=shopper)
    assert (prefs.email_orders, prefs.sms_orders, prefs.email_team) == (True, False, False)
    assert prefs.language == "en"
    shopper.refresh_from_db()
    assert shopper.phone == "13800138000"


def test_a_bad_phone_is_refused_and_nothing_changes(signed_in, shopper):
    shopper.phone = "13900139000"
    shopper.save(update_fields=["phone"])

    response = signed_in.post(
        url("notifications:settings", "en"),
        form_data(email_orders=None, phone="12345", language="en"),
    )

    assert response.status_code == 200
    assert "Enter an 11-digit mainland mobile number" in response.content.decode()
    assert not NotificationSettings.objects.filter(user=shopper).exists()
    shopper.refresh_from_db()
    assert shopper.phone == "13900139000"


def test_a_saved_setting_is_kept_when_a_later_phone_is_bad(signed_in, shopper):
    signed_in.post(url("notifications:settings"), form_data(email_orders=None))

    signed_in.post(url("notifications:settings"), form_data(phone="0800-NOPE"))

    assert NotificationSettings.objects.get(user=shopper).email_orders is False


def test_the_phone_may_be_removed(signed_in, shopper):
    shopper.phone = "13900139000"
    shopper.save(update_fields=["phone"])

    signed_in.post(url("notifications:settings"), form_data(phone=""))

    shopper.refresh_from_db()
    assert shopper.phone == ""


def test_an_unknown_language_is_refused(signed_in, shopper):
    response = signed_in.post(url("notifications:settings"), form_data(language="xx"))

    assert response.status_code == 200
    assert response.context["form"].errors["language"]
    assert not NotificationSettings.objects.filter(user=shopper).exists()


def test_the_page_shows_the_email_the_messages_go_to(signed_in, shopper):
    html = signed_in.get(url("notifications:settings")).content.decode()

    assert shopper.email in html


def test_never_saved_settings_offer_the_language_being_read(signed_in):
    response = signed_in.get(url("notifications:settings", "en"))

    assert response.context["form"]["language"].value() == "en"


def sign_in(client, language: str):
    return client.post(
        url("accounts:login", language), {"username": "shopper", "password": PASSWORD}
    )


def test_signing_in_remembers_the_language(client, shopper):
    assert sign_in(client, "en").status_code == 302
    assert NotificationSettings.objects.get(user=shopper).language == "en"

    client.logout()
    sign_in(client, "zh-hans")

    assert NotificationSettings.objects.get(user=shopper).language == "zh-hans"


def test_signing_in_in_the_same_language_writes_nothing(client, shopper):
    NotificationSettings.objects.create(user=shopper, language="en")

    with CaptureQueriesContext(connection) as queries:
        sign_in(client, "en")

    table = NotificationSettings._meta.db_table
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if table in q["sql"] and not q["sql"].lstrip().upper().startswith("SELECT")
    ]
    assert writes == []


def test_signing_in_in_the_default_language_makes_no_settings(client, shopper):
    sign_in(client, "zh-hans")

    assert not NotificationSettings.objects.filter(user=shopper).exists()
