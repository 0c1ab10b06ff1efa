"""The SMS channel: the template and signature sent to the provider, the number checked
and rate-limited, the provider's refusals mapped, and each SMS sent once, also after
a sender died or timed out mid-send."""

import json
from datetime import timedelta

import pytest
import requests
from django.core.checks import Error
from django.utils import timezone
from django.utils.translation import override

from notifications import deliveries, sms
from notifications.deliveries import PermanentFailure, TemporaryFailure
from notifications.models import Delivery
from notifications.sms import checks
from notifications.sms.aliyun import AliyunBackend
from notifications.tasks import MAX_ATTEMPTS, resend_stuck_deliveries
from tests.notifications.sms_fixtures import *  # noqa: F403 - the fixtures
from tests.notifications.sms_fixtures import PHONE, SIGN_NAME, TEMPLATE_CODE

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


PARAMS = {"number": "M1", "carrier": "顺丰速运", "tracking": "SF1"}


def delivered(delivery: Delivery) -> Delivery:
    """Run the delivery as the task does; the row as it is after."""
    deliveries.deliver(delivery.pk)
    delivery.refresh_from_db()
    return delivery


def sent_before(make_sms_delivery, ago: timedelta, phone: str = PHONE) -> Delivery:
    """An SMS to `phone` that went out `ago` ago."""
    return make_sms_delivery(phone, status=Delivery.Status.SENT, sent_at=timezone.now() - ago)


# --- the console backend -----------------------------------------------------------


def test_the_console_backend_prints_the_sms_and_keeps_it_in_its_outbox(
    console_outbox, make_sms_delivery, capsys
):
    delivery = delivered(make_sms_delivery(params={"number": "M20240001"}))

    assert delivery.status == Delivery.Status.SENT
    [message] = console_outbox
    assert (message.phone, message.template_code, message.params, message.out_id) == (
        PHONE,
        TEMPLATE_CODE,
        {"number": "M20240001"},
        delivery.idempotency_key,
    )
    assert delivery.provider_ref == message.reference
    printed = capsys.readouterr().out
    assert PHONE in printed and "M20240001" in printed and SIGN_NAME in printed


def test_the_console_backend_cannot_tell_about_an_sms_another_process_printed(
    console_outbox, make_sms_delivery
):
    delivery = make_sms_delivery()
    assert sms.was_sent(delivery) is None
    delivered(delivery)
    assert sms.was_sent(delivery) is True


# --- Aliyun, against the fake ------------------------------------------------------


def test_aliyun_sends_our_signature_template_parameters_and_out_id(
    fake_aliyun_sms, make_sms_delivery
):
    delivery = delivered(make_sms_delivery())

    assert delivery.status == Delivery.Status.SENT
    [message] = fake_aliyun_sms.sent
    assert message["PhoneNumber"] == PHONE
    assert message["SignName"] == SIGN_NAME
    assert message["TemplateCode"] == TEMPLATE_CODE
    assert message["TemplateParam"] == delivery.message.data["sms"]
    assert message["OutId"] == delivery.idempotency_key == f"n{delivery.message_id}-sms"
    number = delivery.message.data["sms"]["number"]
    assert message["Content"] == f"【{SIGN_NAME}】您的订单{number}已发货，顺丰速运运单号SF1234567"
    assert delivery.provider_ref == message["BizId"]


def test_a_wrong_secret_is_refused_by_the_fake_and_fails_the_delivery(
    fake_aliyun_sms, make_sms_delivery, settings
):
    settings.ALIYUN_SMS_ACCESS_KEY_SECRET = "not-our-secret"

    delivery = delivered(make_sms_delivery())

    assert delivery.status == Delivery.Status.FAILED
    assert "SignatureDoesNotMatch" in delivery.reason
    assert fake_aliyun_sms.sent == [] and len(fake_aliyun_sms.refused) == 1


def test_the_fake_refuses_a_signed_request_changed_on_the_way(fake_aliyun_sms):
    # given: a request the SDK signed, taken as it went
    AliyunBackend().send(PHONE, TEMPLATE_CODE, PARAMS, "x")
    signed = fake_aliyun_sms.requests[-1]
    query = {**signed.query, "PhoneNumbers": "13900139000"}

    # when: sent again to another number under the same signature
    answer = requests.post(
        fake_aliyun_sms.url + "/", params=query, headers=signed.headers, timeout=5
    )

    # then
    assert answer.status_code == 400
    assert answer.json()["Code"] == "SignatureDoesNotMatch"
    assert [m["PhoneNumber"] for m in fake_aliyun_sms.sent] == [PHONE]


def test_the_fake_refuses_an_unknown_access_key_and_a_replayed_nonce(fake_aliyun_sms, settings):
    AliyunBackend().send(PHONE, TEMPLATE_CODE, PARAMS, "x")
    signed = fake_aliyun_sms.requests[-1]
    replay = requests.post(
        fake_aliyun_sms.url + "/", params=signed.query, headers=signed.headers, timeout=5
    )
    assert (replay.status_code, replay.json()["Code"]) == (400, "SignatureNonceUsed")

    settings.ALIYUN_SMS_ACCESS_KEY_ID = "LTAI5tSomeoneElse"
    with pytest.raises(PermanentFailure, match="InvalidAccessKeyId.NotFound"):
        AliyunBackend().send(PHONE, TEMPLATE_CODE, {"number": "2"}, "y")
    assert len(fake_aliyun_sms.sent) == 1


# --- the number --------------------------------------------------------------------


@pytest.mark.parametrize("phone", ["1380013800", "23800138000", "+8613800138000", ""])
def test_a_number_that_is_no_mainland_mobile_is_not_sent_to(
    fake_aliyun_sms, make_sms_delivery, phone
):
    with override("en"):
        delivery = delivered(make_sms_delivery(phone))

    assert delivery.status == Delivery.Status.SKIPPED
    assert delivery.reason == "Not a mainland mobile number: not sent."
    assert fake_aliyun_sms.requests == []


def test_a_kind_without_a_template_sends_no_sms(fake_aliyun_sms, make_sms_delivery, settings):
    settings.SMS_TEMPLATES = {}
    delivery = delivered(make_sms_delivery())
    assert delivery.status == Delivery.Status.SKIPPED
    assert fake_aliyun_sms.requests == []


# --- the rate limit per number -----------------------------------------------------


def test_a_second_sms_within_a_minute_waits_and_goes_after_it(
    fake_aliyun_sms, make_sms_delivery, settings
):
    settings.SMS_RATE_LIMITS = {"minute": 1, "hour": 5, "day": 10}
    earlier = sent_before(make_sms_delivery, timedelta(seconds=30))
    delivery = make_sms_delivery()

    with override("en"), pytest.raises(TemporaryFailure):
        deliveries.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING  # the task tries again
    assert "in the last minute" in delivery.reason
    assert fake_aliyun_sms.sent == []

    # when the minute has passed, the retry sends it
    Delivery.objects.filter(pk=earlier.pk).update(sent_at=timezone.now() - timedelta(seconds=61))
    assert delivered(delivery).status == Delivery.Status.SENT
    assert len(fake_aliyun_sms.sent) == 1


def test_waiting_for_the_minute_is_no_attempt_so_the_sms_is_never_given_up_for_it(
    fake_aliyun_sms, make_sms_delivery, settings, django_capture_on_commit_callbacks
):
    settings.SMS_RATE_LIMITS = {"minute": 1}
    earlier = sent_before(make_sms_delivery, timedelta(seconds=30))
    delivery = make_sms_delivery()
    # given: more retries within the minute than a delivery has attempts
    for _retry in range(MAX_ATTEMPTS + 1):
        with pytest.raises(deliveries.Wait):
            deliveries.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Delivery.Status.PENDING, 0)

    # when: the task's retries ran out long ago and the minute has passed
    Delivery.objects.filter(pk=delivery.pk).update(
        created_at=timezone.now() - timedelta(minutes=30),
        claimed_at=timezone.now() - timedelta(minutes=20),
    )
    Delivery.objects.filter(pk=earlier.pk).update(sent_at=timezone.now() - timedelta(minutes=20))
    with django_capture_on_commit_callbacks(execute=True):
        assert resend_stuck_deliveries() == 1

    # then: the sweep sent it, without asking Aliyun first (nothing was tried before)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert [r.headers.get("x-acs-action") for r in fake_aliyun_sms.requests] == ["SendSms"]


def test_over_the_hourly_limit_the_sms_is_not_sent_and_says_why(
    fake_aliyun_sms, make_sms_delivery, settings
):
    settings.SMS_RATE_LIMITS = {"minute": 1, "hour": 5, "day": 10}
    for minutes in (2, 10, 20, 30, 50):
        sent_before(make_sms_delivery, timedelta(minutes=minutes))
    sent_before(make_sms_delivery, timedelta(minutes=5), phone="13900139000")  # another number

    with override("en"):
        delivery = delivered(make_sms_delivery())

    assert delivery.status == Delivery.Status.SKIPPED
    assert delivery.reason == "This number got 5 SMS in the last hour, the most allowed: not sent."
    assert fake_aliyun_sms.sent == []
    # four in the hour is fine
    Delivery.objects.filter(address=PHONE, sent_at__isnull=False).earliest("sent_at").delete()
    assert delivered(make_sms_delivery()).status == Delivery.Status.SENT


def test_over_the_daily_limit_the_sms_is_not_sent_and_says_why(
    fake_aliyun_sms, make_sms_delivery, settings
):
    settings.SMS_RATE_LIMITS = {"minute": 1, "hour": 5, "day": 10}
    for hours in range(2, 12):
        sent_before(make_sms_delivery, timedelta(hours=hours))
    sent_before(make_sms_delivery, timedelta(hours=25))  # yesterday's do not count

    with override("en"):
        delivery = delivered(make_sms_delivery())

    assert delivery.status == Delivery.Status.SKIPPED
    assert "10 SMS in the last 24 hours" in delivery.reason
    assert fake_aliyun_sms.sent == []


def test_the_limits_come_from_settings(fake_aliyun_sms, make_sms_delivery, settings):
    settings.SMS_RATE_LIMITS = {"hour": 1}
    sent_before(make_sms_delivery, timedelta(minutes=59))
    assert delivered(make_sms_delivery()).status == Delivery.Status.SKIPPED

    settings.SMS_RATE_LIMITS = {}
    assert delivered(make_sms_delivery()).status == Delivery.Status.SENT


# --- the provider's refusals -------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("isv.BUSINESS_LIMIT_CONTROL", 200),  # Aliyun's own per-number throttling
        ("isp.SYSTEM_ERROR", 200),
        ("InternalError", 500),
        ("ServiceUnavailable", 503),
        ("Throttling.User", 400),
    ],
)
def test_throttling_and_server_errors_are_tried_again(
    fake_aliyun_sms, make_sms_delivery, code, status
):
    fake_aliyun_sms.fail_next(code, status=status)
    delivery = make_sms_delivery()

    with pytest.raises(TemporaryFailure, match=code):
        deliveries.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING

    assert delivered(delivery).status == Delivery.Status.SENT
    assert len(fake_aliyun_sms.with_out_id(delivery.idempotency_key)) == 1


@pytest.mark.parametrize(
    "code", ["isv.MOBILE_NUMBER_ILLEGAL", "isv.SMS_TEMPLATE_ILLEGAL", "isv.SMS_SIGNATURE_ILLEGAL"]
)
def test_a_refused_number_template_or_signature_fails_for_good(
    fake_aliyun_sms, make_sms_delivery, code
):
    fake_aliyun_sms.fail_next(code, "refused")
    delivery = delivered(make_sms_delivery())
    assert delivery.status == Delivery.Status.FAILED
    assert code in delivery.reason


def test_a_template_or_signature_the_provider_does_not_know_fails_for_good(
    fake_aliyun_sms, make_sms_delivery, settings
):
    settings.SMS_TEMPLATES = {"order_shipped": "SMS_000000"}
    assert "isv.SMS_TEMPLATE_ILLEGAL" in delivered(make_sms_delivery()).reason

    settings.SMS_TEMPLATES = {"order_shipped": TEMPLATE_CODE}
    settings.SMS_SIGN_NAME = "别人的签名"
    assert "isv.SMS_SIGNATURE_ILLEGAL" in delivered(make_sms_delivery()).reason
    assert fake_aliyun_sms.sent == []


def test_missing_template_parameters_fail_for_good(fake_aliyun_sms, make_sms_delivery):
    delivery = delivered(make_sms_delivery(params={"number": "M1"}))
    assert delivery.status == Delivery.Status.FAILED
    assert "isv.TEMPLATE_MISSING_PARAMETERS" in delivery.reason


def test_no_answer_is_tried_again(fake_aliyun_sms, make_sms_delivery, settings):
    settings.ALIYUN_SMS_ENDPOINT = "http://127.0.0.1:9"  # nobody listens
    delivery = make_sms_delivery()
    with override("en"), pytest.raises(TemporaryFailure, match="did not answer"):
        deliveries.deliver(delivery.pk)


def test_a_retry_after_a_timeout_asks_first_and_does_not_send_twice(
    fake_aliyun_sms, make_sms_delivery, settings
):
    # given: Aliyun takes the SMS but answers after our timeout
    settings.ALIYUN_SMS_TIMEOUT = 0.5
    fake_aliyun_sms.hang_next_send()
    delivery = make_sms_delivery()
    with pytest.raises(TemporaryFailure):
        deliveries.deliver(delivery.pk)
    fake_aliyun_sms.release()

    # when: the task tries again
    delivery = delivered(delivery)

    # then: it learnt from QuerySendDetails that the SMS went out
    assert delivery.status == Delivery.Status.SENT
    assert len(fake_aliyun_sms.with_out_id(delivery.idempotency_key)) == 1


def test_aliyun_without_its_keys_fails_the_delivery_and_the_deploy_check(
    make_sms_delivery, settings
):
    settings.SMS_BACKEND = "aliyun"
    settings.ALIYUN_SMS_ACCESS_KEY_ID = settings.ALIYUN_SMS_ACCESS_KEY_SECRET = ""
    settings.SMS_SIGN_NAME = "最香商城"
    settings.SMS_TEMPLATES = {"order_shipped": "SMS_1"}

    delivery = delivered(make_sms_delivery())

    assert delivery.status == Delivery.Status.FAILED
    assert "ALIYUN_SMS_ACCESS_KEY_ID" in delivery.reason
    assert [error.id for error in checks.check_aliyun_sms_keys(None)] == [
        "notifications.E003",
        "notifications.E003",
    ]


def test_the_check_refuses_an_unknown_backend_or_rate_window(settings):
    settings.SMS_BACKEND = "twilio"
    settings.SMS_RATE_LIMITS = {"minute": 1, "week": 20}
    errors = checks.check_sms_settings(None)
    assert all(isinstance(error, Error) for error in errors)
    assert [error.id for error in errors] == ["notifications.E001", "notifications.E002"]


# --- was_sent: asking by OutId -----------------------------------------------------


def test_was_sent_answers_from_query_send_details_by_out_id(fake_aliyun_sms, make_sms_delivery):
    sent = delivered(make_sms_delivery())
    other = make_sms_delivery()  # same number, never sent

    assert sms.was_sent(sent) is True
    assert sms.was_sent(other) is False
    queries = [r.query for r in fake_aliyun_sms.requests if r.query.get("PhoneNumber")]
    assert queries[-1]["PhoneNumber"] == PHONE
    assert queries[-1]["SendDate"] == timezone.localtime(
        timezone.now(), sms.PROVIDER_DAYS
    ).strftime("%Y%m%d")


def test_was_sent_reads_every_page_of_the_days_records(fake_aliyun_sms, make_sms_delivery):
    delivery = make_sms_delivery()
    for n in range(60):  # others' SMS to the same number that day, ours among the last
        fake_aliyun_sms.record(PHONE, delivery.idempotency_key if n == 55 else f"other-{n}")

    assert sms.was_sent(delivery) is True
    pages = [r.query["CurrentPage"] for r in fake_aliyun_sms.requests if "CurrentPage" in r.query]
    assert pages == ["1", "2"]


def test_an_sms_that_failed_at_the_carrier_counts_as_not_sent(fake_aliyun_sms, make_sms_delivery):
    delivery = delivered(make_sms_delivery())
    fake_aliyun_sms.sent[0]["SendStatus"] = 2
    assert sms.was_sent(delivery) is False


def test_was_sent_waits_when_the_provider_cannot_be_asked(
    fake_aliyun_sms, make_sms_delivery, settings
):
    delivery = delivered(make_sms_delivery())
    settings.ALIYUN_SMS_ENDPOINT = "http://127.0.0.1:9"  # nobody listens
    with pytest.raises(TemporaryFailure):
        sms.was_sent(delivery)


# --- a sender that died mid-send ---------------------------------------------------


def test_a_stale_claim_whose_sms_went_out_is_marked_sent_without_a_second_sms(
    fake_aliyun_sms, make_sms_delivery
):
    # given: a sender took the delivery and Aliyun took the SMS, then the sender died
    delivery = make_sms_delivery(
        status=Delivery.Status.SENDING,
        attempts=1,
        claimed_at=timezone.now() - deliveries.LEASE - timedelta(seconds=1),
    )
    AliyunBackend().send(
        PHONE, TEMPLATE_CODE, delivery.message.data["sms"], delivery.idempotency_key
    )

    # when: the redelivered task runs
    delivery = delivered(delivery)

    # then
    assert delivery.status == Delivery.Status.SENT
    assert len(fake_aliyun_sms.with_out_id(delivery.idempotency_key)) == 1
    assert len(fake_aliyun_sms.sent) == 1


def test_a_stale_claim_whose_sms_never_left_is_sent_once(fake_aliyun_sms, make_sms_delivery):
    delivery = make_sms_delivery(
        status=Delivery.Status.SENDING,
        attempts=1,
        claimed_at=timezone.now() - deliveries.LEASE - timedelta(seconds=1),
    )

    delivery = delivered(delivery)

    assert delivery.status == Delivery.Status.SENT
    assert len(fake_aliyun_sms.with_out_id(delivery.idempotency_key)) == 1
    # it asked once (QuerySendDetails) before the one SendSms, not twice
    actions = [r.headers["x-acs-action"] for r in fake_aliyun_sms.requests]
    assert actions == ["QuerySendDetails", "SendSms"]


def test_the_template_parameters_reach_aliyun_as_a_json_object_of_strings(
    fake_aliyun_sms, make_sms_delivery
):
    delivered(make_sms_delivery(params={"number": 42, "carrier": "中通", "tracking": "ZT 1+2&3"}))
    [request] = [r for r in fake_aliyun_sms.requests if r.headers["x-acs-action"] == "SendSms"]
    assert json.loads(request.query["TemplateParam"]) == {
        "number": "42",
        "carrier": "中通",
        "tracking": "ZT 1+2&3",
    }


def test_an_event_notified_reaches_the_phone_by_sms(
    fake_aliyun_sms, shopper, django_capture_on_commit_callbacks
):
    from types import SimpleNamespace

    from notifications.models import Kind
    from notifications.services import notify

    shopper.phone, shopper.email = PHONE, ""  # SMS only: the email needs a real order
    shopper.save(update_fields=["phone", "email"])
    order = SimpleNamespace(number="M20240042", carrier_name="顺丰速运", tracking_number="SF42")

    with django_capture_on_commit_callbacks(execute=True):
        notify(
            shopper,
            Kind.ORDER_SHIPPED,
            key="order:42:shipped",
            context={"order": order},
            sms_params={"number": "M20240042", "carrier": "顺丰速运", "tracking": "SF42"},
        )

    [message] = fake_aliyun_sms.sent
    assert message["Content"] == f"【{SIGN_NAME}】您的订单M20240042已发货，顺丰速运运单号SF42"
    assert Delivery.objects.get(channel="sms").status == Delivery.Status.SENT
