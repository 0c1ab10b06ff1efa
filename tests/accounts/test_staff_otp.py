"""A second factor (TOTP) for staff who can approve payouts or refunds."""

import re
import time

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

PASSWORD = "pw-123456-long"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def otp_on(settings):
    settings.STAFF_OTP_REQUIRED = True


@pytest.fixture
def cashier(make_user):
    """Staff who can approve and pay withdrawals."""
    user = make_user("cashier", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="pay_withdrawal"),
        Permission.objects.get(codename="view_withdrawal"),
    )
    return user


@pytest.fixture
def clerk(make_user):
    """Staff who only keep the catalog."""
    user = make_user("clerk", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_product"))
    return user


def _code(device: TOTPDevice) -> str:
    """The code the user's authenticator app shows now (django-otp's TOTP helper)."""
    device.refresh_from_db()
    generator = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    generator.time = time.time()
    return f"{generator.token():0{device.digits}d}"


def _device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def _admin_login(client, user, **extra):
    return client.post(
        reverse("admin:login") + "?next=" + reverse("admin:index"),
        {"username": user.username, "password": PASSWORD, **extra},
    )


def _admin_home(client):
    return client.get(reverse("admin:commissions_withdrawal_changelist"))


def test_money_staff_without_a_valid_code_do_not_get_into_the_admin(client, cashier, otp_on):
    _device(cashier)

    response = _admin_login(client, cashier, otp_token="000000")

    assert response.status_code == 200
    assert "authenticator code is wrong" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_money_staff_signed_in_by_password_alone_are_asked_for_the_code(client, cashier, otp_on):
    _device(cashier)
    client.force_login(cashier)  # e.g. signed in on the shop's page

    response = _admin_home(client)

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:otp_verify"))


def test_money_staff_get_into_the_admin_with_a_valid_code(client, cashier, otp_on):
    device = _device(cashier)

    _admin_login(client, cashier, otp_token=_code(device))

    assert client.session["_auth_user_id"] == str(cashier.pk)
    assert _admin_home(client).status_code == 200


def test_the_code_page_verifies_a_password_session(client, cashier, otp_on, settings):
    # django-otp makes the next try wait 1 s after a wrong code; no waiting here.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    device = _device(cashier)
    client.force_login(cashier)
    target = reverse("admin:commissions_withdrawal_changelist")

    wrong = client.post(reverse("accounts:otp_verify"), {"otp_token": "123", "next": target})
    assert _admin_home(client).status_code == 302
    right = client.post(
        reverse("accounts:otp_verify"), {"otp_token": _code(device), "next": target}
    )

    assert wrong.status_code == 200
    assert right.url == target
    assert _admin_home(client).status_code == 200


def test_money_staff_without_a_device_are_sent_to_enrol_and_enrolment_works(
    client, cashier, otp_on
):
    response = _admin_login(client, cashier)
    assert client.session["_auth_user_id"] == str(cashier.pk)
    assert _admin_home(client).url.startswith(reverse("accounts:otp_enroll"))

    page = client.get(reverse("accounts:otp_enroll"))
    assert "<svg" in page.content.decode()
    secret = re.search(r"<code>([A-Z2-7]+)</code>", page.content.decode()).group(1)
    device = TOTPDevice.objects.get(user=cashier)
    assert not device.confirmed
    assert secret.encode() and device.config_url.count(secret) == 1

    done = client.post(reverse("accounts:otp_enroll"), {"otp_token": _code(device)})

    assert response.status_code == 302
    assert done.status_code == 302
    assert TOTPDevice.objects.get(user=cashier).confirmed
    assert _admin_home(client).status_code == 200


def test_a_wrong_enrolment_code_confirms_nothing(client, cashier, otp_on):
    client.force_login(cashier)
    client.get(reverse("accounts:otp_enroll"))

    response = client.post(reverse("accounts:otp_enroll"), {"otp_token": "000000"})

    assert "authenticator code is wrong" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=cashier, confirmed=True).exists()
    assert _admin_home(client).status_code == 302


def test_enrolment_cannot_add_a_second_device(client, cashier, otp_on):
    _device(cashier)
    client.force_login(cashier)

    response = client.get(reverse("accounts:otp_enroll"))

    assert response.url.startswith(reverse("accounts:otp_verify"))
    assert TOTPDevice.objects.filter(user=cashier).count() == 1


def test_refund_deciders_need_the_code_too(client, make_user, otp_on):
    user = make_user("refunds", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_aftersalerequest"))
    client.force_login(user)

    assert client.get(reverse("admin:index")).status_code == 302


def test_other_staff_and_shoppers_are_unaffected(client, clerk, shopper, otp_on):
    _admin_login(client, clerk)
    assert client.get(reverse("admin:index")).status_code == 200

    client.force_login(shopper)
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_with_the_setting_off_money_staff_sign_in_as_before(client, cashier, settings):
    settings.STAFF_OTP_REQUIRED = False
    _device(cashier)

    _admin_login(client, cashier)

    assert _admin_home(client).status_code == 200
