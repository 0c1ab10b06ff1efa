"""Fixtures for the SMS tests: site messages with an SMS delivery, the console outbox,
the fake Aliyun SMS. Imported by test_sms*.py (`from tests.notifications.sms_fixtures import *`).
"""

import itertools

import pytest

from notifications.models import Category, Channel, Delivery, Kind, SiteMessage
from notifications.sms import console
from tests.fakes.aliyun_sms import FakeAliyunSms

__all__ = [
    "ACCESS_KEY_ID",
    "ACCESS_KEY_SECRET",
    "PHONE",
    "SIGN_NAME",
    "TEMPLATE_CODE",
    "TEMPLATE_TEXT",
    "aliyun_settings",
    "console_outbox",
    "fake_aliyun_sms",
    "make_sms_delivery",
]

PHONE = "13800138000"
SIGN_NAME = "最香商城"
TEMPLATE_CODE = "SMS_465000001"
TEMPLATE_TEXT = "您的订单${number}已发货，${carrier}运单号${tracking}"
ACCESS_KEY_ID = "LTAI5tSmsTestKey"
ACCESS_KEY_SECRET = "sms-test-secret-7f3a9c"
_events = itertools.count(1)


def aliyun_settings(fake: FakeAliyunSms) -> dict[str, str]:
    """The environment that points a worker process's Aliyun backend at `fake`."""
    return {
        "SMS_BACKEND": "aliyun",
        "SMS_SIGN_NAME": SIGN_NAME,
        "SMS_TEMPLATES": f"order_shipped={TEMPLATE_CODE}",
        "ALIYUN_SMS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "ALIYUN_SMS_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET,
        "ALIYUN_SMS_ENDPOINT": fake.url,
    }


@pytest.fixture
def console_outbox(settings):
    """The console backend, its outbox empty."""
    settings.SMS_BACKEND = "console"
    settings.SMS_SIGN_NAME = SIGN_NAME
    settings.SMS_TEMPLATES = {Kind.ORDER_SHIPPED: TEMPLATE_CODE}
    console.outbox.clear()
    yield console.outbox
    console.outbox.clear()


@pytest.fixture
def fake_aliyun_sms(settings):
    """A running fake Aliyun SMS that knows our signature and template, and the
    settings that make our Aliyun backend talk to it."""
    fake = FakeAliyunSms(
        access_key_id=ACCESS_KEY_ID,
        access_key_secret=ACCESS_KEY_SECRET,
        sign_names=(SIGN_NAME,),
        templates={TEMPLATE_CODE: TEMPLATE_TEXT},
    ).start()
    settings.SMS_BACKEND = "aliyun"
    settings.SMS_SIGN_NAME = SIGN_NAME
    settings.SMS_TEMPLATES = {Kind.ORDER_SHIPPED: TEMPLATE_CODE}
    settings.ALIYUN_SMS_ACCESS_KEY_ID = ACCESS_KEY_ID
    settings.ALIYUN_SMS_ACCESS_KEY_SECRET = ACCESS_KEY_SECRET
    settings.ALIYUN_SMS_ENDPOINT = fake.url
    settings.ALIYUN_SMS_TIMEOUT = 5.0
    yield fake
    fake.stop()


@pytest.fixture
def make_sms_delivery(shopper):
    """make_sms_delivery(phone=..., **delivery_fields): an order-shipped site message
    and its SMS delivery, made with the ORM (as notify() would)."""

    def make(phone: str = PHONE, *, params: dict | None = None, **fields) -> Delivery:
        n = next(_events)
        message = SiteMessage.objects.create(
            recipient=shopper,
            kind=Kind.ORDER_SHIPPED,
            category=Category.ORDERS,
            event_key=f"order:{n}:shipped",
            title="您的订单已发货",
            language="zh-hans",
            data={
                "order": n,
                "sms": params
                if params is not None
                else {"number": f"M2024{n:04d}", "carrier": "顺丰速运", "tracking": "SF1234567"},
            },
        )
        return Delivery.objects.create(
            message=message, channel=Channel.SMS, address=phone, **fields
        )

    return make
