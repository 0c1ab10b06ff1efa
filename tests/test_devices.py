"""What the shop reads of the browser: phone, WeChat, and the shopper's IP address."""

from django.test import RequestFactory

from core.devices import client_ip, in_wechat, is_phone

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"


def request(**meta):
    return RequestFactory().get("/", **meta)


def test_a_forwarded_for_header_is_ignored_unless_a_trusted_proxy_writes_it(settings):
    forged = request(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="1.2.3.4")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(forged) == "203.0.113.9"
    settings.TRUSTED_PROXY_COUNT = 2  # two proxies, but only one entry: not from them
    assert client_ip(forged) == "203.0.113.9"


def test_behind_two_proxies_the_address_the_first_one_saw_is_the_shoppers(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    behind = request(REMOTE_ADDR="10.0.0.3", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7, 10.0.0.2")
    assert client_ip(behind) == "198.51.100.7"


def test_phones_and_wechat_are_told_by_their_user_agent():
    assert is_phone(request(HTTP_USER_AGENT=IPHONE)) and not in_wechat(
        request(HTTP_USER_AGENT=IPHONE)
    )
    wechat = request(HTTP_USER_AGENT=IPHONE + " MicroMessenger/8.0.47")
    assert in_wechat(wechat) and is_phone(wechat)
    assert not is_phone(request(HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0) Chrome/126"))
