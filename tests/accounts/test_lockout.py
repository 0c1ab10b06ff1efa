"""Sign-in lockout (django-axes): by username and by address, on the shop and the admin."""

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

PASSWORD = "pw-123456-long"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    settings.AXES_FAILURE_LIMIT = 5


def _shop_login(client, username, password, **extra):
    return client.post(
        reverse("accounts:login"), {"username": username, "password": password}, **extra
    )


def _admin_login(client, username, password, **extra):
    return client.post(
        reverse("admin:login"), {"username": username, "password": password}, **extra
    )


def test_wrong_passwords_lock_the_shop_login_even_for_the_right_password(client, shopper):
    for _ in range(5):
        _shop_login(client, "shopper", "wrong")

    response = _shop_login(client, "shopper", PASSWORD)

    assert response.status_code == 429
    assert "too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_few_wrong_passwords_still_let_the_right_one_in(client, shopper):
    for _ in range(4):
        assert _shop_login(client, "shopper", "wrong").status_code == 200

    response = _shop_login(client, "shopper", PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(shopper.pk)


def test_the_lockout_holds_for_the_account_from_another_address(client, shopper):
    for n in range(5):
        _shop_login(client, "shopper", "wrong", REMOTE_ADDR=f"10.0.0.{n + 1}")

    response = _shop_login(client, "shopper", PASSWORD, REMOTE_ADDR="10.0.9.9")

    assert response.status_code == 429


def test_an_address_guessing_many_accounts_is_locked_out(client, make_user):
    victim = make_user("victim")
    for n in range(5):
        _shop_login(client, f"guess{n}", "wrong", REMOTE_ADDR="10.1.1.1")

    response = _shop_login(client, victim.username, PASSWORD, REMOTE_ADDR="10.1.1.1")

    assert response.status_code == 429


def test_a_forged_forwarded_for_header_does_not_escape_the_lockout(client, shopper, settings):
    settings.TRUSTED_PROXY_COUNT = 0  # no proxy: X-Forwarded-For is the client's own writing
    for n in range(5):
        _shop_login(
            client, f"guess{n}", "wrong", REMOTE_ADDR="10.2.2.2", HTTP_X_FORWARDED_FOR=f"1.1.1.{n}"
        )

    response = _shop_login(
        client, "shopper", PASSWORD, REMOTE_ADDR="10.2.2.2", HTTP_X_FORWARDED_FOR="9.9.9.9"
    )

    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"10.2.2.2"}


def test_behind_the_proxy_the_address_the_proxy_saw_is_counted(client, shopper, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        _shop_login(
            client, "nobody", "wrong", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7"
        )

    # Another shopper behind the same proxy is not locked out.
    other = _shop_login(
        client, "shopper", PASSWORD, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.8"
    )

    assert other.status_code == 302
    assert AccessAttempt.objects.filter(ip_address="203.0.113.7").exists()


def test_the_admin_login_locks_out_too_with_a_page_in_the_admin_look(client, make_user):
    make_user("boss", is_staff=True, is_superuser=True)
    for _ in range(4):
        assert _admin_login(client, "boss", "wrong").status_code == 200
    assert _admin_login(client, "boss", "wrong").status_code == 429

    response = _admin_login(client, "boss", PASSWORD)

    assert response.status_code == 429
    assert "too many failed sign-in attempts" in response.content.decode()
    assert "admin/css/base.css" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_staff_unlock_a_user_from_the_users_list(client, make_user, shopper):
    boss = make_user("boss", is_staff=True, is_superuser=True)
    for n in range(5):
        _shop_login(client, "shopper", "wrong", REMOTE_ADDR=f"10.3.0.{n}")
    assert _shop_login(client, "shopper", PASSWORD, REMOTE_ADDR="10.3.1.1").status_code == 429

    staff = client.__class__()
    staff.force_login(boss)
    staff.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "unlock_sign_in", "_selected_action": [shopper.pk]},
    )

    assert _shop_login(client, "shopper", PASSWORD, REMOTE_ADDR="10.3.1.1").status_code == 302


def test_access_attempts_are_in_the_admin(client, make_user):
    boss = make_user("boss", is_staff=True, is_superuser=True)
    _shop_login(client, "someone", "wrong")
    client.force_login(boss)

    response = client.get(reverse("admin:axes_accessattempt_changelist"))

    assert response.status_code == 200
    assert "someone" in response.content.decode()


def test_the_test_client_login_and_force_login_still_work(client, shopper):
    assert client.login(username="shopper", password=PASSWORD)
    client.logout()
    client.force_login(shopper)
    assert client.get(reverse("accounts:profile")).status_code == 200
