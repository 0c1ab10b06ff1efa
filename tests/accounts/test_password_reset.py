"""Password-reset mail goes out from the worker, with a link to settings.SITE_URL."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts.tasks import send_password_reset
from config.celery import app as celery_app
from core.models import OutboxMessage


@pytest.fixture
def broker_mode():
    """As in production: enqueued work waits in the outbox for the broker."""
    celery_app.conf.task_always_eager = False  # the autouse _eager_celery fixture restores it


def _reset(client, email, **extra):
    return client.post(reverse("accounts:password_reset"), {"email": email}, **extra)


def _queued():
    return list(
        OutboxMessage.objects.filter(task="accounts.tasks.send_password_reset").values_list(
            "args", flat=True
        )
    )


def test_the_request_sends_no_mail_and_answers_known_and_unknown_alike(
    client, shopper, broker_mode
):
    known = _reset(client, shopper.email)
    assert mail.outbox == []
    assert _queued() == [[shopper.pk, "zh-hans"]]

    unknown = _reset(client, "nobody@example.com")

    assert mail.outbox == []
    assert len(_queued()) == 1  # nothing more for an unknown address
    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)
    assert known.content == unknown.content


def test_the_mail_is_sent_after_commit_even_when_tasks_run_in_process(
    client, shopper, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _reset(client, shopper.email)
    assert mail.outbox == []

    for callback in callbacks:
        callback()

    assert [m.to for m in mail.outbox] == [[shopper.email]]


def test_the_link_is_built_from_site_url_not_the_host_header(
    client, shopper, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://shop.example.com"
    settings.ALLOWED_HOSTS = ["*"]

    with django_capture_on_commit_callbacks(execute=True):
        _reset(client, shopper.email, HTTP_HOST="attacker.example")

    links = re.findall(r"https?://\S+", mail.outbox[0].body)
    assert len(links) == 1
    assert links[0].startswith("https://shop.example.com/accounts/password/reset/")


def test_the_task_mails_a_link_that_sets_a_new_password(client, shopper, settings):
    settings.LANGUAGE_CODE = "en"
    assert send_password_reset(shopper.pk, "en") is True

    link = re.search(r"https?://[^/]+(/\S+)", mail.outbox[0].body).group(1)
    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(form_url, {"new_password1": "reset-Secret-77", "new_password2": "reset-Secret-77"})

    shopper.refresh_from_db()
    assert shopper.check_password("reset-Secret-77")
    assert mail.outbox[0].subject == "Reset your Zuixiang Mall password"


def test_the_task_sends_nothing_to_an_account_deactivated_since(shopper):
    shopper.is_active = False
    shopper.save()

    assert send_password_reset(shopper.pk, "zh-hans") is False
    assert mail.outbox == []
