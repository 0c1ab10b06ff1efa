"""One account per email address (any case, spaces trimmed)."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts import wechat
from accounts.models import User

TAKEN = "This email address is already used by another account."


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def _signup(client, username, email):
    return client.post(
        reverse("accounts:signup"),
        {
            "username": username,
            "email": email,
            "password1": "a-Secret-pass-42",
            "password2": "a-Secret-pass-42",
        },
    )


@pytest.mark.parametrize("email", ["shopper@example.com", "  SHOPPER@Example.COM  "])
def test_signup_refuses_an_email_another_account_uses(client, shopper, email):
    response = _signup(client, "newcomer", email)

    assert response.status_code == 200
    assert TAKEN in response.content.decode()
    assert not User.objects.filter(username="newcomer").exists()
    assert "_auth_user_id" not in client.session


def test_signup_with_a_new_email_works_and_stores_it_trimmed(client, shopper):
    response = _signup(client, "newcomer", "  newcomer@example.com ")

    assert response.status_code == 302
    assert User.objects.get(username="newcomer").email == "newcomer@example.com"


def test_signups_without_email_are_not_refused(client, db):
    assert _signup(client, "first", "").status_code == 302
    assert _signup(client, "second", "").status_code == 302


def test_the_profile_refuses_an_email_another_account_uses(client, shopper, make_user):
    make_user("other")
    client.force_login(shopper)

    response = client.post(
        reverse("accounts:profile"), {"first_name": "S", "email": "Other@example.com "}
    )

    assert TAKEN in response.content.decode()
    shopper.refresh_from_db()
    assert shopper.email == "shopper@example.com"


def test_the_profile_keeps_the_users_own_email(client, shopper):
    client.force_login(shopper)

    response = client.post(
        reverse("accounts:profile"), {"first_name": "S", "email": "SHOPPER@example.com"}
    )

    assert response.status_code == 302


def test_the_database_refuses_a_second_account_with_the_email(shopper):
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("twin", email="Shopper@Example.com")


def test_wechat_accounts_without_email_are_many(db):
    wechat.sign_in_or_create("openid-one", appid="wx1")
    wechat.sign_in_or_create("openid-two", appid="wx1")

    assert User.objects.filter(email="").count() == 2
