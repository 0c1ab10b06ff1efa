"""A worker killed while Aliyun is taking an SMS: the redelivered task asks Aliyun by
OutId (QuerySendDetails) and marks the delivery sent; the person gets one SMS."""

import re

import pytest
from django.db.models import F

from notifications import deliveries
from notifications.models import Delivery
from notifications.tasks import deliver
from tests.fakes.aliyun_sms import FakeAliyunSms
from tests.integration.helpers import wait_until
from tests.notifications.sms_fixtures import *  # noqa: F403 - make_sms_delivery
from tests.notifications.sms_fixtures import (
    ACCESS_KEY_ID,
    ACCESS_KEY_SECRET,
    SIGN_NAME,
    TEMPLATE_CODE,
    TEMPLATE_TEXT,
    aliyun_settings,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]

VISIBILITY = 8  # seconds, for the test; core.task_policy.VISIBILITY_TIMEOUT in production
FAST_REDELIVERY = {
    "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY),
    "CELERY_UNACKED_RESTORE_INTERVAL": "1",
}
SENT = re.compile(r"Task notifications\.tasks\.deliver\[[0-9a-f-]+\] succeeded in ")


@pytest.fixture
def fake_aliyun_sms():
    fake = FakeAliyunSms(
        access_key_id=ACCESS_KEY_ID,
        access_key_secret=ACCESS_KEY_SECRET,
        sign_names=(SIGN_NAME,),
        templates={TEMPLATE_CODE: TEMPLATE_TEXT},
    ).start()
    yield fake
    fake.stop()


def test_a_worker_killed_while_sending_an_sms_leaves_one_sms_and_a_sent_delivery(
    start_worker, fake_aliyun_sms, make_sms_delivery
):
    env = {
        **FAST_REDELIVERY,
        **aliyun_settings(fake_aliyun_sms),
        "ALIYUN_SMS_TIMEOUT": "60",  # the worker waits on Aliyun until it is killed
    }
    delivery = make_sms_delivery()
    key = delivery.idempotency_key

    # given: a worker sending the SMS, and Aliyun that took it but has not answered
    fake_aliyun_sms.hang_next_send()
    first = start_worker(env=env)
    deliver.delay(delivery.pk)
    assert fake_aliyun_sms.hanging.wait(30), first.output
    assert len(fake_aliyun_sms.with_out_id(key)) == 1

    # when: the worker dies mid-send, and its claim's lease runs out before the next
    # worker comes (deliveries.LEASE, longer than any send, is not waited out here)
    first.kill()
    assert Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.SENDING
    Delivery.objects.filter(pk=delivery.pk).update(claimed_at=F("claimed_at") - deliveries.LEASE)
    second = start_worker(env=env)

    # then: the second worker gets the task within the visibility timeout, asks Aliyun,
    # and marks the delivery sent without sending again
    assert wait_until(lambda: SENT.search(second.output), VISIBILITY + 30), second.output
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert delivery.sent_at is not None
    assert len(fake_aliyun_sms.with_out_id(key)) == 1
    assert len(fake_aliyun_sms.sent) == 1
    assert "sent before its sender died" in second.output
    actions = [request.headers.get("x-acs-action") for request in fake_aliyun_sms.requests]
    assert actions == ["SendSms", "QuerySendDetails"]
