"""The Kuaidi100 adapter against a local fake of its documented API."""

import json
import urllib.parse
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from orders import services
from orders.models import Order, Shipment
from orders.tracking import TrackingError, get_adapter
from orders.tracking import kuaidi100 as client
from tests.fakes.kuaidi100 import FakeKuaidi100, md5_upper, step

from .aftersale_helpers import place_paid

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
PUSH_PATH = "/tracking/kuaidi100/push/"


@pytest.fixture
def fake(settings):
    with FakeKuaidi100(customer="C-001", key="K-secret") as server:
        settings.TRACKING_ADAPTER = "kuaidi100"
        settings.KUAIDI100_CUSTOMER, settings.KUAIDI100_KEY = "C-001", "K-secret"
        settings.KUAIDI100_SALT = "salt-of-ours"
        settings.KUAIDI100_BASE_URL = server.url
        settings.SITE_URL = "https://shop.example.com"
        yield server


@pytest.fixture
def shipped(shopper, variant, address, admin_user, fake):
    """A paid order shipped with SF Express (the shipping's own on-commit work not run)."""
    order = place_paid(shopper, [(variant, 1)], address)
    services.ship_order(order, carrier="顺丰", tracking_number="SF1001", actor=admin_user)
    return Order.objects.get(pk=order.pk)


def test_signatures_are_upper_case_md5_as_documented():
    # MD5 of '{"com":"yuantong"}KEYCUST', param + key + customer, in upper-case hex
    assert client.query_sign('{"com":"yuantong"}', "KEY", "CUST") == (
        "752E279D11AD5E72B894F81EA695AFBD"
    )
    assert client.push_sign("{}", "salt") == md5_upper("{}salt")
    assert client.push_sign("{}", "salt") != client.push_sign("{}", "pepper")


def test_a_query_returns_the_steps_oldest_first_in_beijing_time(shipped, fake):
    fake.add_steps(
        "shunfeng",
        "SF1001",
        step("2026-11-30 09:00:00", "顺丰速运 已收取快件", "广东省深圳市"),
        step("2026-11-30 18:30:00", "快件已到达【上海转运中心】", "上海市"),
    )

    updates = get_adapter("shunfeng").fetch_events(shipped.shipment)

    assert [u.description for u in updates] == ["顺丰速运 已收取快件", "快件已到达【上海转运中心】"]
    assert updates[0].time == datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI)
    assert updates[1].place == "上海市" and not any(u.delivered for u in updates)
    query = fake.queries[-1]
    assert (query["com"], query["num"], query["phone"]) == ("shunfeng", "SF1001", "8000")


def test_a_parcel_with_no_steps_yet_is_not_an_error(shipped, fake):
    assert get_adapter("shunfeng").fetch_events(shipped.shipment) == []


def test_wrong_keys_are_a_tracking_error(shipped, fake, settings):
    fake.add_steps("shunfeng", "SF1001", step("2026-11-30 09:00:00", "已揽收"))
    settings.KUAIDI100_KEY = "not-the-key"
    with pytest.raises(TrackingError, match="503"):
        get_adapter("shunfeng").fetch_events(shipped.shipment)


def test_the_signed_state_marks_the_last_step_delivered():
    result = {
        "state": "301",  # 正常签收, a detailed code of 3 with resultv2
        "ischeck": "1",
        "data": [
            step("2026-12-01 10:00:00", "已签收，签收人：本人"),
            step("2026-12-01 08:00:00", "派送中"),
        ],
    }
    updates = client.parse_result(result)
    assert [u.delivered for u in updates] == [False, True]
    assert not any(u.delivered for u in client.parse_result({**result, "state": "4"}))  # 退签
    assert not any(u.delivered for u in client.parse_result({**result, "state": "14"}))  # 拒签


def test_shipping_subscribes_as_documented_and_stores_the_first_steps(
    shopper, variant, address, admin_user, fake, django_capture_on_commit_callbacks
):
    fake.add_steps("zhongtong", "ZT778", step("2026-12-01 09:00:00", "【杭州】已揽收", "杭州市"))
    order = place_paid(shopper, [(variant, 1)], address)

    with django_capture_on_commit_callbacks(execute=True):
        services.ship_order(order, carrier="中通", tracking_number="ZT778", actor=admin_user)

    subscription = fake.subscriptions[("zhongtong", "ZT778")]
    assert subscription["key"] == "K-secret"
    assert subscription["parameters"] == {
        "callbackurl": "https://shop.example.com" + PUSH_PATH,
        "salt": "salt-of-ours",
        "resultv2": "1",
        "phone": "8000",
    }
    shipment = Shipment.objects.get(order=order)
    assert shipment.subscribed_at is not None
    assert [e.description for e in shipment.events.all()] == ["【杭州】已揽收"]


def test_the_callback_url_never_comes_from_the_request_host(shipped, fake, client, settings):
    settings.ALLOWED_HOSTS = ["*"]
    services.start_tracking(shipped.shipment)
    callback = fake.subscriptions[("shunfeng", "SF1001")]["parameters"]["callbackurl"]
    assert urllib.parse.urlsplit(callback).netloc == "shop.example.com"


def _push(client, fake, number="SF1001", company="shunfeng", **kwargs):
    url, form = fake.signed_push(company, number, **kwargs)
    return client.post(urllib.parse.urlsplit(url).path, form)


def test_a_push_stores_its_steps_once_even_if_pushed_twice(shipped, fake, client):
    services.start_tracking(shipped.shipment)
    fake.add_steps(
        "shunfeng",
        "SF1001",
        step("2026-11-30 09:00:00", "已收取快件", "深圳市"),
        step("2026-11-30 20:00:00", "运输中", "上海市"),
    )

    first = _push(client, fake)
    second = _push(client, fake)

    assert first.json() == {"result": True, "returnCode": "200", "message": "成功"}
    assert second.json()["result"] is True
    assert shipped.shipment.events.count() == 2


def test_a_push_with_a_bad_sign_stores_nothing(shipped, fake, client):
    services.start_tracking(shipped.shipment)
    fake.add_steps("shunfeng", "SF1001", step("2026-11-30 09:00:00", "已收取快件"))
    url, form = fake.signed_push("shunfeng", "SF1001")
    forged = {**form, "param": form["param"].replace("已收取快件", "已签收")}

    response = client.post(urllib.parse.urlsplit(url).path, forged)

    assert response.status_code == 400 and response.json()["result"] is False
    assert not shipped.shipment.events.exists()
    unsigned = client.post(PUSH_PATH, {"param": form["param"]})
    assert unsigned.json()["result"] is False and not shipped.shipment.events.exists()


def test_a_push_for_a_parcel_that_is_not_ours_is_refused(fake, client):
    param = json.dumps({"status": "polling", "lastResult": {"com": "yunda", "nu": "NOPE"}})
    response = client.post(PUSH_PATH, {"param": param, "sign": md5_upper(param + "salt-of-ours")})
    assert response.json()["result"] is False


def test_a_delivered_push_marks_the_order_delivered(shipped, fake, client):
    services.start_tracking(shipped.shipment)
    fake.add_steps(
        "shunfeng",
        "SF1001",
        step("2026-11-30 09:00:00", "已收取快件"),
        step("2026-12-01 11:00:00", "已签收，签收人：本人"),
        state="3",
        ischeck="1",
    )

    _push(client, fake, status="shutdown")

    order = Order.objects.get(pk=shipped.pk)
    assert order.status == Order.Status.DELIVERED and order.received_at is None
    assert order.shipment.delivered_at == datetime(2026, 12, 1, 11, 0, tzinfo=SHANGHAI)


def test_an_aborted_subscription_is_made_again_by_the_next_poll(shipped, fake, client):
    services.start_tracking(shipped.shipment)
    _push(client, fake, status="abort", message="3天查询无记录")
    assert Shipment.objects.get(pk=shipped.shipment.pk).subscribed_at is None

    del fake.subscriptions[("shunfeng", "SF1001")]  # Kuaidi100 stopped following it
    Shipment.objects.filter(pk=shipped.shipment.pk).update(last_polled_at=None)
    services.poll_tracking()

    assert ("shunfeng", "SF1001") in fake.subscriptions


def test_the_periodic_poll_asks_kuaidi100_at_most_every_few_hours(shipped, fake):
    fake.add_steps("shunfeng", "SF1001", step("2026-11-30 09:00:00", "已收取快件"))
    assert services.poll_tracking() == 1
    assert services.poll_tracking() == 0
    assert len(fake.queries) == 1  # the second poll did not ask again

    # once the interval has passed, the safety net asks again
    fake.add_steps("shunfeng", "SF1001", step("2026-11-30 18:00:00", "运输中"))
    later = timezone.now() + client.MIN_POLL_INTERVAL + timedelta(minutes=1)
    assert services.poll_tracking(now=later) == 1
    assert len(fake.queries) == 2


def test_a_failing_parcel_does_not_stop_the_poll(shopper, variant, address, admin_user, fake):
    first = place_paid(shopper, [(variant, 1)], address)
    services.ship_order(first, carrier="shunfeng", tracking_number="SF-A", actor=admin_user)
    second = place_paid(shopper, [(variant, 1)], address)
    services.ship_order(second, carrier="yunda", tracking_number="YD-B", actor=admin_user)
    Order.objects.filter(pk=first.pk).update(recipient_phone="")  # SF refuses without a phone
    fake.add_steps("shunfeng", "SF-A", step("2026-11-30 09:00:00", "已收取快件"))
    fake.add_steps("yunda", "YD-B", step("2026-11-30 09:00:00", "已揽收"))

    assert services.poll_tracking() == 1
    assert Shipment.objects.get(order=second).events.count() == 1


def test_deploy_check_requires_the_keys(settings):
    settings.TRACKING_ADAPTER = "kuaidi100"
    settings.KUAIDI100_CUSTOMER = settings.KUAIDI100_KEY = settings.KUAIDI100_SALT = ""
    with pytest.raises(SystemCheckError, match="KUAIDI100_SALT"):
        call_command("check", "--deploy", "--tag", "orders")
