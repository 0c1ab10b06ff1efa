"""A second factor (TOTP, 动态口令) for the staff who can move money.

With settings.STAFF_OTP_REQUIRED on, staff who can approve or pay withdrawals,
or decide after-sale requests and refunds, use the admin only in a session
verified with a code of their authenticator app (django-otp's TOTP devices).
The whole admin, not only the money actions: a session that may approve a
payout is one whose every page deserves the same trust. Staff without a device
enrol first (scan a QR code, confirm one code); other staff and shoppers are
unaffected. A lost phone: another staff member deletes the device in the admin
(OTP_TOTP › TOTP devices) and the user enrols again at the next sign-in.
"""

import segno
from django.conf import settings
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

# Each one lets its holder send money out of the business.
MONEY_PERMISSIONS = (
    "commissions.pay_withdrawal",  # approve, pay withdrawals
    "commissions.change_withdrawal",  # reject withdrawals
    "orders.change_aftersalerequest",  # approve (refund) or reject after-sale requests
    "orders.change_order",  # refund whole orders
    "payments.add_refund",  # ask the gateway again for a failed refund
)
DEVICE_NAME = "authenticator"


def is_required_for(user) -> bool:
    """Whether ``user`` must show a TOTP code before using the admin."""
    return bool(
        settings.STAFF_OTP_REQUIRED
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.is_staff
        and any(user.has_perm(perm) for perm in MONEY_PERMISSIONS)
    )


def confirmed_device(user) -> TOTPDevice | None:
    """The user's confirmed authenticator, if they enrolled one."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def has_device(user) -> bool:
    return confirmed_device(user) is not None


@transaction.atomic
def pending_device(user) -> TOTPDevice:
    """The unconfirmed authenticator being enrolled (made on first call, the same
    secret on a reload, so the QR code already scanned stays good)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def verify(user, token: str) -> TOTPDevice | None:
    """The confirmed device that accepts ``token`` (throttled by django-otp), or None."""
    device = confirmed_device(user)
    token = (token or "").strip().replace(" ", "")
    if device is None or not token:
        return None
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        return device if device.verify_token(token) else None


def confirm(device: TOTPDevice, token: str) -> bool:
    """Confirm the enrolment of ``device`` with a code from the app; whether it was right."""
    token = (token or "").strip().replace(" ", "")
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if device.confirmed or not token or not device.verify_token(token):
            return False
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        # One authenticator per user: other unconfirmed attempts are dropped.
        TOTPDevice.objects.filter(user=device.user, confirmed=False).delete()
    return True


def qr_svg(device: TOTPDevice) -> str:
    """The enrolment QR code (otpauth:// URL) as inline SVG markup."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4)
