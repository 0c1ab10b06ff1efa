"""A shopper pays an order in each of the five ways, in a real browser, through our pages.

Alipay (电脑网站支付, 手机网站支付) and WeChat Pay (Native, H5, JSAPI) are the fakes
of tests/fakes on loopback; sign-in with WeChat is the fake OAuth server. The
browser follows every redirect to them and back, and the order becomes paid only
when the gateway's signed notification reaches the live server: the return URL
and the bridge's "ok" only send the shopper to a page that waits for it.

Each run leaves screenshots of our own pages (`cashier-*`, `pay-*`) in
SCREENSHOTS_DIR, and checks that none of them scrolls sideways.
"""

from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import requests
from django.urls import reverse
from playwright.sync_api import expect

from orders.services import place_order
from payments.models import Payment, PaymentNotification
from tests.fakes.wechat_oauth import FakeWeChatOAuth

from .conftest import WIDTHS, overflow_px

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "pw-123456-long"
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI "
    "Language/zh_CN"
)
WAIT = 15_000  # ms: a notification, then the page's next poll


@pytest.fixture
def gateways(settings, fake_alipay, fake_wechatpay):
    """Both real gateways at once, each talking to its fake."""
    settings.PAYMENT_GATEWAYS = ["alipay", "wechat"]
    return SimpleNamespace(alipay=fake_alipay, wechat=fake_wechatpay)


@pytest.fixture(scope="module")
def wechat_server():
    # One server for the module: stopping one takes half a second (its poll interval).
    with FakeWeChatOAuth() as fake:
        yield fake


@pytest.fixture
def wechat_oauth(wechat_server, gateways, settings):
    """Sign-in with WeChat for the official account WeChat Pay's JSAPI pays through."""
    wechat_server.reset(current_openid=OPENID)
    wechat_server.appid = settings.WECHATPAY_APPID  # an openid belongs to one AppID
    settings.WECHAT_OAUTH_APPID = wechat_server.appid
    settings.WECHAT_OAUTH_SECRET = wechat_server.secret
    settings.WECHAT_OAUTH_USERINFO = False  # snsapi_base: WeChat sends the shopper back at once
    settings.WECHAT_OPEN_BASE_URL = settings.WECHAT_API_BASE_URL = wechat_server.url
    return wechat_server


@pytest.fixture
def order(make_variant, make_user, address, default_plan):
    shopper = make_user("shopper", password=PASSWORD)
    return place_order(shopper, [(make_variant(price="168.00").pk, 1)], address=address)


def sign_in(page, order):
    """The shopper signs in with their password."""
    page.goto(reverse("accounts:login"))
    page.fill("input[name=username]", order.user.username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form:has(input[name=password]) [type=submit]").click()
    page.wait_for_load_state()


def sign_in_and_pay_now(page, order):
    """Sign in, open the order and press "Pay now"."""
    sign_in(page, order)
    page.goto(order.get_absolute_url())
    page.locator(".status-panel-pending .pay-button").click()


def at(path: str):
    """For wait_for_url: the page is at `path`, whatever its query or fragment (WeChat's
    #wechat_redirect stays on the URL through the redirects back to us)."""
    return lambda url: urlsplit(url).path == path


def choose(page, order, channel: str, film_first=None):
    """On the cashier, choose a way to pay (after `film_first(page)`, if given)."""
    page.wait_for_url(at(reverse("payments_pages:cashier", args=[order.number])))
    if film_first:
        film_first(page)
    page.locator(f"button[data-channel={channel}]").click()


def film(screenshot, name: str, seen: dict):
    """A screenshot taker that also notes how far the page scrolls sideways."""

    def take(page):
        seen[name] = overflow_px(page)
        screenshot(page, name)

    return take


def assert_paid_by_notification(page, order, gateway: str):
    """The page moved on to the order by itself, and only the notification paid it."""
    page.wait_for_url(at(order.get_absolute_url()), timeout=WAIT)
    expect(page.locator(".status-panel-paid")).to_be_visible()
    order.refresh_from_db()
    assert order.status == "paid"
    paying = PaymentNotification.objects.filter(
        payment__order=order, kind=PaymentNotification.Kind.PAYMENT, outcome="paid"
    )
    assert [n.gateway for n in paying] == [gateway]


def payment_of(order, channel: str) -> Payment:
    """The payment the cashier opened for `order` in this way."""
    return Payment.objects.get(order=order, channel=channel)


# --- Alipay ---------------------------------------------------------------------------


def test_alipay_on_a_computer_pays_on_alipays_page(open_page, screenshot, gateways, order):
    page = open_page(WIDTHS["desktop"])
    seen = {}

    sign_in_and_pay_now(page, order)
    choose(page, order, "page", film(screenshot, "cashier-desktop-zh-hans", seen))
    page.wait_for_url(f"{gateways.alipay.url}/gateway.do?**")
    page.locator("#fake-alipay-pay").click()

    page.wait_for_url(at(reverse("payments_pages:return", args=[payment_of(order, "page")])))
    assert_paid_by_notification(page, order, "alipay")
    assert seen == {"cashier-desktop-zh-hans": 0}


def test_alipay_on_a_phone_pays_on_alipays_wap_page(open_page, screenshot, gateways, order):
    page = open_page(WIDTHS["phone"], user_agent=IPHONE)
    seen = {}

    sign_in_and_pay_now(page, order)
    choose(page, order, "wap", film(screenshot, "cashier-phone-zh-hans", seen))
    page.wait_for_url(f"{gateways.alipay.url}/gateway.do?**")
    page.locator("#fake-alipay-pay").click()

    page.wait_for_url(at(reverse("payments_pages:return", args=[payment_of(order, "wap")])))
    assert_paid_by_notification(page, order, "alipay")
    assert gateways.alipay.trades[payment_of(order, "wap").reference]["method"].endswith("wap.pay")
    assert seen == {"cashier-phone-zh-hans": 0}


# --- WeChat Pay -----------------------------------------------------------------------


def test_wechat_native_shows_a_qr_code_and_moves_on_once_the_phone_paid(
    open_page, screenshot, gateways, order
):
    page = open_page(WIDTHS["desktop"])
    seen = {}

    sign_in_and_pay_now(page, order)
    choose(page, order, "native")
    expect(page.locator("#pay-qr svg")).to_be_visible()
    payment = payment_of(order, "native")
    # The payment's own page (a GET): a reload shows the same code.
    page.wait_for_url(at(reverse("payments_pages:pay", args=[payment.reference])))
    film(screenshot, "pay-native-desktop-zh-hans", seen)(page)

    # The shopper's phone scans the code: WeChat Pay pays and notifies us.
    scanned = requests.post(
        f"{gateways.wechat.url}/fake/scan",
        json={"code_url": payment.checkout["qr_code"]},
        timeout=5,
    )
    assert scanned.json()["out_trade_no"] == payment.reference

    assert_paid_by_notification(page, order, "wechat")
    assert seen == {"pay-native-desktop-zh-hans": 0}


def test_wechat_h5_on_a_phone_pays_at_wechat_and_comes_back_to_wait(
    open_page, screenshot, gateways, order
):
    page = open_page(WIDTHS["phone"], user_agent=IPHONE)
    # The notification comes a moment after the shopper is back, so the page waits for it.
    gateways.wechat.delivery_delays = (1.0, 0.3, 1.0, 2.0)
    seen = {}

    sign_in_and_pay_now(page, order)
    choose(page, order, "h5")
    page.wait_for_url(f"{gateways.wechat.url}/fake/h5?**")
    page.locator("#fake-wechat-pay").click()

    page.wait_for_url(at(reverse("payments_pages:return", args=[payment_of(order, "h5")])))
    # Back from WeChat Pay, which said "paid": our page still waits for the notification.
    expect(page.locator(".pay-waiting[data-waiting]")).to_be_visible()
    film(screenshot, "pay-return-phone-zh-hans", seen)(page)
    assert_paid_by_notification(page, order, "wechat")
    assert seen == {"pay-return-phone-zh-hans": 0}


def test_wechat_jsapi_signs_in_with_wechat_then_pays_through_the_bridge(
    open_page, screenshot, gateways, wechat_oauth, order, settings
):
    # WeChat's real bridge is native code and makes no request from the page; the fake's
    # plays it with a fetch to the fake, which the Content Security Policy must let through.
    policy = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = {
        **policy,
        "DIRECTIVES": {
            **policy["DIRECTIVES"],
            "connect-src": [*policy["DIRECTIVES"]["connect-src"], gateways.wechat.url],
        },
    }
    page = open_page(WIDTHS["phone"], user_agent=WECHAT)
    # WeChat's browser provides WeixinJSBridge; the fake's plays it, on every page.
    bridge = requests.get(f"{gateways.wechat.url}/fake/jsbridge.js", timeout=5).text
    page.context.add_init_script(script=bridge)
    # Hold the bridge's call while the shopper looks at our page (WeChat's sheet is up).
    confirmations = []
    page.route(f"{gateways.wechat.url}/fake/jsapi-pay", lambda route: confirmations.append(route))
    seen = {}

    sign_in(page, order)
    # Inside WeChat only WeChat Pay is offered (WeChat blocks Alipay's pages) ...
    page.goto(reverse("payments_pages:cashier", args=[order.number]))
    expect(page.locator("button[data-channel]")).to_have_count(1)
    film(screenshot, "cashier-wechat-phone-zh-hans", seen)(page)
    # ... so "Pay now" goes straight to it.
    page.goto(order.get_absolute_url())
    page.locator(".status-panel-pending .pay-button").click()

    # Not yet signed in with WeChat: out to WeChat (snsapi_base), straight back, bound.
    expect(page.locator("#wechat-jsapi-pay")).to_be_visible()
    payment = payment_of(order, "jsapi")
    page.wait_for_url(at(reverse("payments_pages:pay", args=[payment.reference])))
    assert [r.path for r in wechat_oauth.requests].count("/connect/oauth2/authorize") == 1
    film(screenshot, "pay-jsapi-phone-zh-hans", seen)(page)

    # The page called getBrandWCPayRequest by itself; the shopper confirms in WeChat.
    for _ in range(100):
        if confirmations:
            break
        page.wait_for_timeout(50)
    assert confirmations, "the pay page did not call getBrandWCPayRequest"
    confirmations[0].continue_()
    page.unroute(f"{gateways.wechat.url}/fake/jsapi-pay")

    assert_paid_by_notification(page, order, "wechat")
    assert order.user.wechat_identities.get().openid == OPENID
    assert gateways.wechat.trades[payment.reference]["openid"] == OPENID
    assert seen == {"cashier-wechat-phone-zh-hans": 0, "pay-jsapi-phone-zh-hans": 0}
