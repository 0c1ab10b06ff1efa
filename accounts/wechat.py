"""Sign-in with WeChat inside WeChat's own browser (公众号网页授权, OAuth 2.0).

The flow, as WeChat documents it:

1. ``authorize_url``: we send the shopper to open.weixin.qq.com with our AppID,
   the callback URL and a random ``state`` kept in their session. With the
   ``snsapi_base`` scope WeChat answers at once and silently; ``snsapi_userinfo``
   asks the shopper first and lets us read their nickname.
2. WeChat sends them back to the callback with ``code`` (single use, five
   minutes) and our ``state``; ``take_pending`` checks the state.
3. ``identify``: the code is exchanged server to server for an access token and
   the shopper's openid (one per AppID), plus the nickname for snsapi_userinfo.
4. ``sign_in_or_create`` / ``bind`` tie that openid to an account.

WeChat answers errors as 200 with ``{"errcode": ..., "errmsg": ...}``; each HTTP
call has a timeout, and any failure becomes a ``WeChatError`` whose str() is a
message for the shopper, so a view never turns one into a 500.
"""

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import quote

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from core.errors import ServiceError

from .models import WeChatIdentity
from .services import lock_user

logger = logging.getLogger(__name__)

# (connect, read) seconds for each call to WeChat's API.
TIMEOUT = (3.05, 10)
SCOPE_BASE = "snsapi_base"
SCOPE_USERINFO = "snsapi_userinfo"
# The session key of the authorizations in flight: {state: next URL}.
SESSION_KEY = "wechat_oauth"
# A shopper who taps twice has two authorizations in flight; more than this is stale.
MAX_PENDING = 5
USERNAME_PREFIX = "wx_"


# --- Errors: str() is a message for the shopper -------------------------------------


class WeChatError(ServiceError):
    """Signing in or binding with WeChat failed; str() says why, for the shopper."""


class StateMismatch(WeChatError):
    def __init__(self):
        super().__init__(
            _("The WeChat sign-in link has expired or was not started here. Please try again.")
        )


class WeChatUnavailable(WeChatError):
    def __init__(self):
        super().__init__(_("WeChat could not be reached. Please try again in a moment."))


class WeChatRefused(WeChatError):
    """WeChat answered with an errcode (an invalid, expired or reused code, ...)."""

    def __init__(self, errcode=None, errmsg: str = ""):
        self.errcode, self.errmsg = errcode, errmsg
        super().__init__(_("WeChat did not confirm who you are. Please sign in again."))


class SnapshotUser(WeChatError):
    """The shopper is on a page shared to Moments and not yet opened for real (快照页)."""

    def __init__(self):
        super().__init__(
            _("Tap “Use full service” at the bottom of the page, then sign in with WeChat again.")
        )


class OpenidTaken(WeChatError):
    def __init__(self):
        super().__init__(
            _(
                "This WeChat is already bound to another account. Sign in to that account "
                "and unbind it there first."
            )
        )


class AlreadyBound(WeChatError):
    def __init__(self):
        super().__init__(
            _("Your account is already bound to another WeChat. Unbind it first to bind this one.")
        )


class AccountDisabled(WeChatError):
    def __init__(self):
        super().__init__(_("This account is disabled. Please contact customer service."))


class LastWayToSignIn(WeChatError):
    def __init__(self):
        super().__init__(
            _(
                "WeChat is the only way to sign in to this account. Set a password first, "
                "then you can unbind WeChat."
            )
        )


# --- Where we are ------------------------------------------------------------------


def is_enabled() -> bool:
    """Whether sign-in with WeChat is configured (an AppID and its secret)."""
    return bool(settings.WECHAT_OAUTH_APPID and settings.WECHAT_OAUTH_SECRET)


def scope() -> str:
    return SCOPE_USERINFO if settings.WECHAT_OAUTH_USERINFO else SCOPE_BASE


# --- Steps 1 and 2: out to WeChat and back -----------------------------------------


def authorize_url(request, *, next_url: str, state: str) -> str:
    """The URL that starts the authorization, remembering ``state`` and where to go
    afterwards (``next_url``, already checked by the caller) in the session.

    WeChat matches this link strictly: the parameters must come in the documented
    order and end with ``#wechat_redirect``.
    """
    pending = dict(request.session.get(SESSION_KEY, {}))
    pending[state] = next_url
    request.session[SESSION_KEY] = dict(list(pending.items())[-MAX_PENDING:])
    callback = request.build_absolute_uri(reverse("accounts:wechat_callback"))
    return (
        f"{settings.WECHAT_OPEN_BASE_URL.rstrip('/')}/connect/oauth2/authorize"
        f"?appid={quote(settings.WECHAT_OAUTH_APPID, safe='')}"
        f"&redirect_uri={quote(callback, safe='')}"
        f"&response_type=code&scope={scope()}&state={quote(state, safe='')}"
        "#wechat_redirect"
    )


def new_state() -> str:
    """Letters and digits only, as WeChat documents ``state`` (a-zA-Z0-9, 128 bytes)."""
    return secrets.token_hex(16)


def take_pending(request, state: str) -> str:
    """The next URL of the authorization ``state`` started in this session, which
    is then forgotten (a state is good once). Raises StateMismatch."""
    pending = dict(request.session.get(SESSION_KEY, {}))
    next_url = pending.pop(state, None) if state else None
    if next_url is None:
        raise StateMismatch
    request.session[SESSION_KEY] = pending
    return next_url


# --- Step 3: WeChat's API ----------------------------------------------------------


def _get(path: str, params: dict) -> dict:
    """GET a WeChat API endpoint; its JSON answer, or WeChatUnavailable/WeChatRefused."""
    url = f"{settings.WECHAT_API_BASE_URL.rstrip('/')}{path}"
    try:
        response = requests.get(url, params=params, timeout=TIMEOUT)
        response.raise_for_status()
        # The API sends UTF-8 but not always a charset; never let requests guess Latin-1.
        data = json.loads(response.content.decode("utf-8"))
    except (requests.RequestException, ValueError) as exc:
        # Never the exception's text: requests puts the URL in it, with our secret.
        logger.warning("WeChat %s failed: %s", path, type(exc).__name__)
        raise WeChatUnavailable from None
    if not isinstance(data, dict):
        logger.warning("WeChat %s answered %r", path, data)
        raise WeChatUnavailable
    if data.get("errcode"):
        logger.info("WeChat %s refused: %s %s", path, data.get("errcode"), data.get("errmsg"))
        raise WeChatRefused(data.get("errcode"), str(data.get("errmsg", "")))
    return data


def exchange_code(code: str) -> dict:
    """Exchange the callback's ``code`` for ``{access_token, openid, scope, ...}``
    (``sns/oauth2/access_token``). A code works once, for five minutes."""
    data = _get(
        "/sns/oauth2/access_token",
        {
            "appid": settings.WECHAT_OAUTH_APPID,
            "secret": settings.WECHAT_OAUTH_SECRET,
            "code": code,
            "grant_type": "authorization_code",
        },
    )
    if not data.get("openid") or not data.get("access_token"):
        logger.warning("WeChat access_token answer without openid: %r", sorted(data))
        raise WeChatUnavailable
    return data


def fetch_userinfo(access_token: str, openid: str) -> dict:
    """The shopper's profile (``nickname``, ``unionid``, ...) from ``sns/userinfo``;
    needs an access token of the snsapi_userinfo scope."""
    return _get("/sns/userinfo", {"access_token": access_token, "openid": openid, "lang": "zh_CN"})


@dataclass(frozen=True)
class WeChatUser:
    """Who WeChat says the shopper is, for our AppID."""

    openid: str
    unionid: str = ""
    nickname: str = ""


def identify(code: str) -> WeChatUser:
    """Who the callback's ``code`` stands for. The nickname is a courtesy: when
    WeChat will not give it, the shopper still signs in, without it."""
    token = exchange_code(code)
    if str(token.get("is_snapshotuser", "")) == "1":
        raise SnapshotUser  # a virtual openid that must never own an account
    openid, unionid, nickname = token["openid"], token.get("unionid") or "", ""
    if SCOPE_USERINFO in str(token.get("scope", "")).split(","):
        try:
            info = fetch_userinfo(token["access_token"], openid)
        except WeChatError:
            logger.warning("WeChat userinfo unavailable for a sign-in; going on without it")
        else:
            nickname = str(info.get("nickname") or "")
            unionid = str(info.get("unionid") or unionid)
    return WeChatUser(openid=openid, unionid=unionid, nickname=nickname[:100])


# --- Step 4: accounts --------------------------------------------------------------


def username_for(openid: str, length: int = 10) -> str:
    """A stable username for a WeChat-made account: wx_ and a short hash of the openid."""
    return USERNAME_PREFIX + hashlib.sha256(openid.encode()).hexdigest()[:length]


def _refresh_profile(identity: WeChatIdentity, *, unionid: str, nickname: str) -> None:
    changed = {
        name: value
        for name, value in (("unionid", unionid), ("nickname", nickname))
        if value and getattr(identity, name) != value
    }
    if changed:
        WeChatIdentity.objects.filter(pk=identity.pk).update(**changed)
        for name, value in changed.items():
            setattr(identity, name, value)


@transaction.atomic
def sign_in_or_create(openid: str, *, unionid: str = "", nickname: str = "", appid: str = ""):
    """The account bound to ``openid``, made if there is none: ``(user, created)``.

    A new account gets a ``wx_…`` username, no usable password and the WeChat
    nickname as its name. Two callbacks of the same new shopper at once make
    one account: the unique constraints decide, and the loser reads the
    winner's. Raises AccountDisabled for a deactivated account.
    """
    appid = appid or settings.WECHAT_OAUTH_APPID
    User = get_user_model()
    for attempt in range(3):
        identity = (
            WeChatIdentity.objects.select_related("user").filter(appid=appid, openid=openid).first()
        )
        if identity is not None:
            if not identity.user.is_active:
                raise AccountDisabled
            _refresh_profile(identity, unionid=unionid, nickname=nickname)
            return identity.user, False
        user = User(
            username=username_for(openid, length=10 + 6 * attempt), first_name=nickname[:150]
        )
        user.set_unusable_password()
        try:
            with transaction.atomic():
                user.save()
                WeChatIdentity.objects.create(
                    user=user, appid=appid, openid=openid, unionid=unionid, nickname=nickname
                )
        except IntegrityError:
            # Another callback made this account first, or (once in a blue moon)
            # the short hash names someone else: read again, with a longer hash.
            continue
        return user, True
    raise WeChatUnavailable


@transaction.atomic
def bind(
    user, openid: str, *, unionid: str = "", nickname: str = "", appid: str = ""
) -> WeChatIdentity:
    """Bind ``openid`` to ``user`` (idempotent for the openid they already have).

    Refuses with OpenidTaken when the openid belongs to another account and
    with AlreadyBound when ``user`` has another openid of this AppID; nothing
    changes then. The user's row is locked, so two binds of one user queue.
    """
    appid = appid or settings.WECHAT_OAUTH_APPID
    lock_user(user)
    owner = WeChatIdentity.objects.filter(appid=appid, openid=openid).first()
    if owner is not None and owner.user_id != user.pk:
        raise OpenidTaken
    if owner is not None:
        _refresh_profile(owner, unionid=unionid, nickname=nickname)
        return owner
    if WeChatIdentity.objects.filter(user=user, appid=appid).exists():
        raise AlreadyBound
    try:
        with transaction.atomic():
            return WeChatIdentity.objects.create(
                user=user, appid=appid, openid=openid, unionid=unionid, nickname=nickname
            )
    except IntegrityError:
        raise OpenidTaken from None  # another account took it in the meantime


def complete_authorization(user, code: str):
    """What WeChat's ``code`` means for the visitor ``user``: ``(account, outcome)``.

    A signed-in visitor binds the openid to their account ("bound"); anyone
    else is the account of the openid ("signed_in"), made on first sight
    ("created"), for the caller to sign in. Raises WeChatError (nothing changed).
    """
    who = identify(code)
    profile = {"unionid": who.unionid, "nickname": who.nickname}
    if user.is_authenticated:
        bind(user, who.openid, **profile)
        return user, "bound"
    account, created = sign_in_or_create(who.openid, **profile)
    return account, "created" if created else "signed_in"


def can_unbind(user) -> bool:
    """Whether the user could still sign in without WeChat (they have a password)."""
    return user.has_usable_password()


@transaction.atomic
def unbind(user) -> bool:
    """Remove ``user``'s WeChat identity of our AppID; whether there was one.
    Refuses with LastWayToSignIn when WeChat is their only way in."""
    identities = _identities_of(user)
    if not identities.exists():
        return False
    if not can_unbind(user):
        raise LastWayToSignIn
    return identities.delete()[0] > 0


# --- Reads -------------------------------------------------------------------------


def _identities_of(user):
    if not getattr(user, "is_authenticated", False) or not settings.WECHAT_OAUTH_APPID:
        return WeChatIdentity.objects.none()
    return WeChatIdentity.objects.filter(user=user, appid=settings.WECHAT_OAUTH_APPID)


def identity_of(user) -> WeChatIdentity | None:
    """``user``'s WeChat identity for our AppID, if bound."""
    return _identities_of(user).first()


def openid_for(user) -> str | None:
    """The openid of ``user`` for settings.WECHAT_OAUTH_APPID (what WeChat Pay JSAPI
    pays as), or None when they have not signed in with WeChat."""
    return _identities_of(user).values_list("openid", flat=True).first()
