"""Sign-in with WeChat inside WeChat's browser (公众号网页授权), against a fake WeChat
on loopback: the test plays the shopper's browser, carrying each redirect by hand
from our site (the test client) to WeChat (requests) and back."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts import wechat
from accounts.models import WeChatIdentity
from orders.models import Order
from tests.fakes.wechat_oauth import FakeWeChatOAuth
from tests.orders.checkout_helpers import NEW_ADDRESS

pytestmark = pytest.mark.django_db

OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI "
    "Language/zh_CN"
)


@pytest.fixture(scope="module")
def wechat_server():
    # One server for the module: stopping one takes half a second (its poll interval).
    with FakeWeChatOAuth() as fake:
        yield fake


@pytest.fixture
def fake_wechat(wechat_server, settings):
    """A fake WeChat as good as new, with sign-in with WeChat configured to use it."""
    wechat_server.reset(current_openid=OPENID)
    configure(settings, wechat_server)
    return wechat_server


def configure(settings, fake) -> None:
    settings.LANGUAGE_CODE = "en"
    settings.WECHAT_OAUTH_APPID = fake.appid
    settings.WECHAT_OAUTH_SECRET = fake.secret
    settings.WECHAT_OAUTH_USERINFO = False
    settings.WECHAT_OPEN_BASE_URL = fake.url
    settings.WECHAT_API_BASE_URL = fake.url


def to_wechat_and_back(fake, response) -> str:
    """Follow our redirect to WeChat as the browser would (allowing, if WeChat asks);
    the callback URL WeChat sends the shopper back to."""
    assert response.status_code == 302
    at_wechat = requests.get(response["Location"], allow_redirects=False, timeout=5)
    if "fake-wechat-allow" in at_wechat.text:
        ticket = re.search(r"name='ticket' value='([^']+)'", at_wechat.text).group(1)
        at_wechat = requests.post(
            f"{fake.url}/connect/oauth2/authorize/allow",
            data={"ticket": ticket},
            allow_redirects=False,
            timeout=5,
        )
    assert at_wechat.status_code == 302, at_wechat.text
    return at_wechat.headers["Location"]


def sign_in_with_wechat(client, fake, **params):
    """Tap "Sign in with WeChat": our redirect, WeChat's, then our callback's answer."""
    start = client.get(reverse("accounts:wechat_login"), params)
    return client.get(to_wechat_and_back(fake, start))


def signed_in_id(client) -> int | None:
    user_id = client.session.get("_auth_user_id")
    return int(user_id) if user_id else None


def said(response, fragment: str) -> bool:
    """Whether a message queued for the shopper contains ``fragment``."""
    return any(fragment in str(m) for m in get_messages(response.wsgi_request))


# --- New and returning shoppers ------------------------------------------------------


def test_a_new_shopper_gets_an_account_bound_to_their_openid_and_is_signed_in(
    client, fake_wechat, django_user_model
):
    response = sign_in_with_wechat(client, fake_wechat)

    identity = WeChatIdentity.objects.get(openid=OPENID)
    assert identity.appid == fake_wechat.appid
    user = identity.user
    assert user.username.startswith("wx_")
    assert not user.has_usable_password()
    assert signed_in_id(client) == user.pk
    assert response.url == reverse("catalog:home")
    assert django_user_model.objects.count() == 1


def test_a_returning_shopper_signs_in_to_the_same_account(client, fake_wechat, django_user_model):
    sign_in_with_wechat(client, fake_wechat)
    first = signed_in_id(client)
    client.post(reverse("accounts:logout"))
    assert signed_in_id(client) is None

    response = sign_in_with_wechat(client, fake_wechat)

    assert signed_in_id(client) == first
    assert django_user_model.objects.count() == 1
    assert said(response, "You are signed in with WeChat.")


def test_the_authorize_link_is_the_documented_one(client, fake_wechat):
    response = client.get(reverse("accounts:wechat_login"))

    location = response["Location"]
    assert location.startswith(f"{fake_wechat.url}/connect/oauth2/authorize?appid=")
    assert location.endswith("#wechat_redirect")
    query = urlsplit(location).query
    assert [pair.split("=")[0] for pair in query.split("&")] == [
        "appid",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
    ]
    params = parse_qs(query)
    assert params["redirect_uri"] == ["http://testserver/accounts/wechat/callback/"]
    assert "%2F" in query  # the redirect_uri is urlencoded
    assert (params["response_type"], params["scope"]) == (["code"], ["snsapi_base"])


def test_the_userinfo_scope_stores_the_nickname(client, fake_wechat, settings):
    settings.WECHAT_OAUTH_USERINFO = True
    fake_wechat.current_nickname = "张三丰"
    fake_wechat.current_unionid = "o6_bmasdasdsad6_2sgVt7hMZOPfL"

    sign_in_with_wechat(client, fake_wechat)

    identity = WeChatIdentity.objects.get(openid=OPENID)
    assert (identity.nickname, identity.unionid) == ("张三丰", "o6_bmasdasdsad6_2sgVt7hMZOPfL")
    assert identity.user.first_name == "张三丰"
    assert any(r.path == "/sns/userinfo" for r in fake_wechat.requests)


def test_the_base_scope_never_asks_for_userinfo(client, fake_wechat):
    sign_in_with_wechat(client, fake_wechat)

    assert WeChatIdentity.objects.get(openid=OPENID).nickname == ""
    assert not any(r.path == "/sns/userinfo" for r in fake_wechat.requests)


def test_a_disabled_account_is_not_signed_in(client, fake_wechat, django_user_model):
    sign_in_with_wechat(client, fake_wechat)
    client.post(reverse("accounts:logout"))
    django_user_model.objects.update(is_active=False)

    response = sign_in_with_wechat(client, fake_wechat)

    assert signed_in_id(client) is None
    assert response.url == reverse("accounts:login")
    assert said(response, "This account is disabled")


def test_a_snapshot_page_visitor_gets_no_account(client, fake_wechat):
    fake_wechat.snapshot_user = True  # a virtual openid of a page shared to Moments

    response = sign_in_with_wechat(client, fake_wechat)

    assert not WeChatIdentity.objects.exists()
    assert signed_in_id(client) is None
    assert said(response, "Use full service")


# --- Binding from the profile --------------------------------------------------------


def test_a_signed_in_user_binds_wechat_from_the_profile(client, fake_wechat, shopper):
    client.force_login(shopper)
    page = client.get(reverse("accounts:profile"), HTTP_USER_AGENT=WECHAT_UA)
    assert "Bind WeChat" in page.content.decode()

    response = sign_in_with_wechat(client, fake_wechat, next=reverse("accounts:profile"))

    assert response.url == reverse("accounts:profile")
    assert WeChatIdentity.objects.get(openid=OPENID).user == shopper
    assert signed_in_id(client) == shopper.pk
    assert said(response, "Your WeChat is now bound to this account.")


def test_an_openid_bound_to_another_account_is_refused_and_nothing_changes(
    client, fake_wechat, shopper, make_user
):
    owner = make_user("owner")
    wechat.bind(owner, OPENID)
    client.force_login(shopper)

    response = sign_in_with_wechat(client, fake_wechat)

    assert response.url == reverse("accounts:profile")
    assert said(response, "already bound to another account")
    assert list(WeChatIdentity.objects.values_list("user", "openid")) == [(owner.pk, OPENID)]
    assert signed_in_id(client) == shopper.pk


def test_an_account_bound_to_another_wechat_is_not_rebound_silently(client, fake_wechat, shopper):
    wechat.bind(shopper, "o6_anotherOpenidOfTheSameUser0")
    client.force_login(shopper)

    response = sign_in_with_wechat(client, fake_wechat)

    assert said(response, "Unbind it first")
    assert wechat.openid_for(shopper) == "o6_anotherOpenidOfTheSameUser0"


def test_unbinding_removes_the_identity(client, fake_wechat, shopper):
    wechat.bind(shopper, OPENID)
    client.force_login(shopper)
    assert "Unbind WeChat" in client.get(reverse("accounts:profile")).content.decode()

    response = client.post(reverse("accounts:wechat_unbind"))

    assert response.url == reverse("accounts:profile")
    assert not WeChatIdentity.objects.exists()


def test_an_account_with_only_wechat_cannot_unbind_until_it_has_a_password(client, fake_wechat):
    sign_in_with_wechat(client, fake_wechat)

    response = client.post(reverse("accounts:wechat_unbind"))

    assert said(response, "only way to sign in")
    assert WeChatIdentity.objects.count() == 1
    # setting a password (no old one to give) makes unbinding possible
    client.post(
        reverse("accounts:password_change"),
        {"new_password1": "a-new-Secret-42", "new_password2": "a-new-Secret-42"},
    )
    client.post(reverse("accounts:wechat_unbind"))
    assert not WeChatIdentity.objects.exists()


# --- Refusals that change nothing ----------------------------------------------------


@pytest.mark.parametrize("state", ["forged-state", "", "状态"])
def test_a_wrong_or_missing_state_is_refused(client, fake_wechat, state, django_user_model):
    back = to_wechat_and_back(fake_wechat, client.get(reverse("accounts:wechat_login")))
    code = parse_qs(urlsplit(back).query)["code"][0]

    response = client.get(reverse("accounts:wechat_callback"), {"code": code, "state": state})

    assert response.url == reverse("accounts:login")
    assert said(response, "has expired or was not started here")
    assert signed_in_id(client) is None
    assert not django_user_model.objects.exists()
    assert not any(r.path == "/sns/oauth2/access_token" for r in fake_wechat.requests)


def test_a_state_works_only_once(client, fake_wechat):
    back = to_wechat_and_back(fake_wechat, client.get(reverse("accounts:wechat_login")))
    client.get(back)
    client.post(reverse("accounts:logout"))

    response = client.get(back)

    assert said(response, "has expired or was not started here")
    assert signed_in_id(client) is None


def test_a_reused_code_gives_a_message_not_a_500(client, fake_wechat, django_user_model):
    sign_in_with_wechat(client, fake_wechat)
    client.post(reverse("accounts:logout"))
    used = fake_wechat.last_code()
    start = client.get(reverse("accounts:wechat_login"))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]

    response = client.get(reverse("accounts:wechat_callback"), {"code": used, "state": state})

    assert response.status_code == 302
    assert response.url == reverse("accounts:login")
    assert said(response, "WeChat did not confirm who you are")
    assert signed_in_id(client) is None


def test_an_invalid_code_gives_a_message_not_a_500(client, fake_wechat, django_user_model):
    start = client.get(reverse("accounts:wechat_login"))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]

    response = client.get(reverse("accounts:wechat_callback"), {"code": "nope", "state": state})

    assert response.url == reverse("accounts:login")
    assert said(response, "WeChat did not confirm who you are")
    assert not django_user_model.objects.exists()


def test_an_expired_code_is_refused(client, fake_wechat, django_user_model):
    fake_wechat.code_ttl = -1

    response = sign_in_with_wechat(client, fake_wechat)

    assert said(response, "WeChat did not confirm who you are")
    assert not django_user_model.objects.exists()


def test_wechat_unreachable_gives_a_message_not_a_500(client, settings, django_user_model):
    with FakeWeChatOAuth(current_openid=OPENID) as fake:  # its own, to stop
        configure(settings, fake)
        back = to_wechat_and_back(fake, client.get(reverse("accounts:wechat_login")))
        fake.stop()

    response = client.get(back)

    assert response.url == reverse("accounts:login")
    assert said(response, "WeChat could not be reached")
    assert not django_user_model.objects.exists()


def test_a_declined_authorization_signs_in_no_one(client, fake_wechat):
    start = client.get(reverse("accounts:wechat_login"))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]

    response = client.get(reverse("accounts:wechat_callback"), {"state": state})

    assert response.url == reverse("accounts:login")
    assert signed_in_id(client) is None


# --- The session, the referral and next ----------------------------------------------


def test_the_cart_in_the_session_survives_the_round_trip(client, fake_wechat, make_variant):
    a, b = make_variant(stock=10), make_variant(stock=10)
    client.post(reverse("orders:cart_add"), {"variant": a.pk, "quantity": 2})

    sign_in_with_wechat(client, fake_wechat)
    assert client.session["cart"] == {str(a.pk): 2}

    # and a returning shopper's saved cart adds up with the visitor's, as with a password
    client.post(reverse("accounts:logout"))
    client.post(reverse("orders:cart_add"), {"variant": b.pk, "quantity": 1})
    sign_in_with_wechat(client, fake_wechat)
    assert client.session["cart"] == {str(a.pk): 2, str(b.pk): 1}


def test_a_referral_cookie_attributes_the_new_account_like_normal_signup(
    client, fake_wechat, make_distributor, variant
):
    # Signing up binds no one by itself; the referral cookie, kept across the trip
    # to WeChat, attributes the first order, exactly as after a signup by form.
    carol = make_distributor("carol")
    client.get(reverse("referral", args=[carol.invite_code]))
    sign_in_with_wechat(client, fake_wechat)
    client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": 1})
    client.get(reverse("orders:checkout"))

    client.post(
        reverse("orders:checkout"),
        {**NEW_ADDRESS, "checkout_token": client.session["checkout_token"]},
    )

    order = Order.objects.get()
    assert order.user == WeChatIdentity.objects.get(openid=OPENID).user
    assert order.distributor == carol


def test_next_on_this_site_is_followed(client, fake_wechat):
    response = sign_in_with_wechat(client, fake_wechat, next=reverse("orders:list"))

    assert response.url == reverse("orders:list")


@pytest.mark.parametrize("evil", ["https://evil.example.com/", "//evil.example.com/x"])
def test_next_to_another_host_is_ignored(client, fake_wechat, evil):
    response = sign_in_with_wechat(client, fake_wechat, next=evil)

    assert response.url == reverse("catalog:home")
    assert signed_in_id(client) is not None


# --- Pages and the feature switch ----------------------------------------------------


def test_the_login_button_shows_only_when_enabled(client, fake_wechat, settings):
    page = client.get(reverse("accounts:login"), HTTP_USER_AGENT=WECHAT_UA).content.decode()
    assert 'id="wechat-login"' in page
    assert "Sign in with WeChat" in page

    settings.WECHAT_OAUTH_SECRET = ""

    page = client.get(reverse("accounts:login"), HTTP_USER_AGENT=WECHAT_UA).content.decode()
    assert 'id="wechat-login"' not in page
    assert client.get(reverse("accounts:wechat_login")).status_code == 404
    assert client.get(reverse("accounts:wechat_callback")).status_code == 404


def test_the_login_button_is_prominent_only_inside_wechat(client, fake_wechat):
    def button(user_agent):
        page = client.get(reverse("accounts:login"), HTTP_USER_AGENT=user_agent).content.decode()
        return re.search(r'<a role="button" id="wechat-login" class="([^"]+)"', page).group(1)

    assert "outline" not in button(WECHAT_UA)
    assert "outline" in button("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0")


def test_openid_for_gives_the_openid_of_our_appid_only(fake_wechat, shopper, make_user, settings):
    assert wechat.openid_for(shopper) is None
    WeChatIdentity.objects.create(user=shopper, appid="wx-some-other-app", openid="o-other")
    assert wechat.openid_for(shopper) is None

    wechat.bind(shopper, OPENID)

    assert wechat.openid_for(shopper) == OPENID
    assert wechat.openid_for(make_user("nobody")) is None
    settings.WECHAT_OAUTH_APPID = ""
    assert wechat.openid_for(shopper) is None


def test_a_username_already_taken_gets_a_longer_hash(fake_wechat, make_user):
    make_user(wechat.username_for(OPENID))

    user, created = wechat.sign_in_or_create(OPENID)

    assert created
    assert user.username == wechat.username_for(OPENID, length=16)


def test_staff_see_the_identities_on_the_user_page(admin_client, fake_wechat, shopper):
    wechat.bind(shopper, OPENID, nickname="张三")

    page = admin_client.get(reverse("admin:accounts_user_change", args=[shopper.pk]))

    assert OPENID in page.content.decode()
    assert 'name="wechat_identities-0-openid"' not in page.content.decode()  # read-only


# --- review: the courtesy nickname, a changed nickname, several taps, https -------------


def test_a_shopper_signs_in_without_a_nickname_when_wechat_will_not_give_it(
    client, fake_wechat, settings
):
    settings.WECHAT_OAUTH_USERINFO = True
    fake_wechat.userinfo_down = True

    sign_in_with_wechat(client, fake_wechat)

    identity = WeChatIdentity.objects.get(openid=OPENID)
    assert signed_in_id(client) == identity.user_id and identity.nickname == ""


def test_a_returning_shopper_whose_nickname_changed_has_it_updated(client, fake_wechat, settings):
    settings.WECHAT_OAUTH_USERINFO = True
    sign_in_with_wechat(client, fake_wechat)
    client.post(reverse("accounts:logout"))
    fake_wechat.current_nickname = "新昵称"

    sign_in_with_wechat(client, fake_wechat)

    assert WeChatIdentity.objects.get(openid=OPENID).nickname == "新昵称"


def test_a_shopper_who_tapped_twice_comes_back_through_either_and_old_taps_expire(
    client, fake_wechat
):
    starts = [client.get(reverse("accounts:wechat_login")) for _ in range(6)]
    states = [parse_qs(urlsplit(s["Location"]).query)["state"][0] for s in starts]
    assert all(state.isalnum() for state in states)  # WeChat documents a-zA-Z0-9

    oldest = client.get(to_wechat_and_back(fake_wechat, starts[0]))
    assert signed_in_id(client) is None and said(oldest, "expired")
    client.get(to_wechat_and_back(fake_wechat, starts[4]))
    assert signed_in_id(client) is not None


def test_an_https_page_does_not_send_the_shopper_on_to_plain_http(client, fake_wechat):
    start = client.get(
        reverse("accounts:wechat_login"), {"next": "http://testserver/orders/"}, secure=True
    )

    response = client.get(to_wechat_and_back(fake_wechat, start), secure=True)

    assert response.url == reverse("catalog:home")
