"""A fake of WeChat's web authorization for official accounts (公众号网页授权).

It plays both hosts: open.weixin.qq.com (the authorize page the shopper's
browser visits) and api.weixin.qq.com (the code exchange and userinfo our
server calls). Point WECHAT_OPEN_BASE_URL and WECHAT_API_BASE_URL at `url`.

    with FakeWeChatOAuth(appid="wx...", secret="...") as fake:
        fake.current_openid = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"  # who is using WeChat
        fake.current_nickname = "张三"

As WeChat documents: parameters of the authorize link must come in order
(appid, redirect_uri, response_type, scope, state); snsapi_base redirects back
at once, snsapi_userinfo first asks the shopper (a page with a button
#fake-wechat-allow); a code works once, for five minutes; errors of the API
are `{"errcode": ..., "errmsg": ...}` with HTTP 200.
"""

import html
import secrets
import threading
import time
import urllib.parse

from .server import FakeServer, Request, Response

AUTHORIZE_ORDER = ["appid", "redirect_uri", "response_type", "scope", "state"]
SCOPES = ("snsapi_base", "snsapi_userinfo")
CODE_TTL = 300  # seconds
TOKEN_TTL = 7200


def _error(errcode: int, errmsg: str) -> Response:
    return Response.json({"errcode": errcode, "errmsg": errmsg})


class FakeWeChatOAuth(FakeServer):
    def __init__(
        self,
        appid: str = "wx5f0c6b8a3d2e1f47",
        secret: str = "fake-wechat-app-secret",
        *,
        current_openid: str = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
        current_nickname: str = "微信用户",
        current_unionid: str = "",
    ):
        super().__init__()
        self.appid, self.secret = appid, secret
        self._lock = threading.Lock()
        self.reset(
            current_openid=current_openid,
            current_nickname=current_nickname,
            current_unionid=current_unionid,
        )

    def reset(
        self,
        *,
        current_openid: str = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
        current_nickname: str = "微信用户",
        current_unionid: str = "",
    ) -> None:
        """Forget every code, token and request: a server shared by tests starts afresh."""
        self.current_openid = current_openid
        self.current_nickname = current_nickname
        self.current_unionid = current_unionid  # "": the account has no open platform
        # A page shared to Moments, seen before "Use full service" (快照页模式).
        self.snapshot_user = False
        self.userinfo_down = False  # sns/userinfo answers 503
        self.code_ttl = CODE_TTL
        with self._lock:
            self.requests.clear()
            self._codes: dict[str, dict] = {}  # code -> {openid, scope, issued, used}
            self._tokens: dict[str, dict] = {}  # access_token -> {openid, scope}
            self._consents: dict[str, dict] = {}  # ticket -> authorize awaiting "allow"

    # --- open.weixin.qq.com ---------------------------------------------------------

    def handle(self, request: Request) -> Response:
        routes = {
            ("GET", "/connect/oauth2/authorize"): self._authorize,
            ("POST", "/connect/oauth2/authorize/allow"): self._allow,
            ("GET", "/sns/oauth2/access_token"): self._access_token,
            ("GET", "/sns/userinfo"): self._userinfo,
        }
        route = routes.get((request.method, request.path))
        if route is None:
            return Response.json({"errcode": 404, "errmsg": "not found"}, status=404)
        return route(request)

    def _error_page(self, message: str) -> Response:
        # WeChat shows an error page in the browser; it never redirects back.
        return Response.html(
            f"<!doctype html><title>Fake WeChat</title><h1>Fake WeChat</h1>"
            f'<p id="fake-wechat-error">{html.escape(message)}</p>'
        )

    def _authorize(self, request: Request) -> Response:
        q = request.query
        keys = [pair.split("=", 1)[0] for pair in request.raw_query.split("&") if pair]
        if keys != AUTHORIZE_ORDER:
            return self._error_page(f"参数错误 (parameter order {keys})")
        if q["appid"] != self.appid:
            return self._error_page("参数错误 (unknown appid)")
        if q["response_type"] != "code":
            return self._error_page("参数错误 (response_type must be code)")
        if q["scope"] not in SCOPES:
            return self._error_page("10005 此公众号并没有这些scope的权限")
        redirect = urllib.parse.urlsplit(q["redirect_uri"])
        if redirect.scheme not in ("http", "https") or not redirect.netloc:
            return self._error_page("10003 redirect_uri域名与后台配置不一致")
        if q["scope"] == "snsapi_base":
            return Response.redirect(self._back(q))
        ticket = secrets.token_urlsafe(8)
        with self._lock:
            self._consents[ticket] = dict(q)
        return Response.html(
            "<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>Fake WeChat</title>"
            "<h1>Fake WeChat</h1><p>该网页将获取你的昵称、头像</p>"
            f"<p>{html.escape(self.current_nickname)}</p>"
            "<form method='post' action='/connect/oauth2/authorize/allow'>"
            f"<input type='hidden' name='ticket' value='{ticket}'>"
            "<button id='fake-wechat-allow' type='submit'>允许</button></form></html>"
        )

    def _allow(self, request: Request) -> Response:
        with self._lock:
            query = self._consents.pop(request.form.get("ticket", ""), None)
        if query is None:
            return self._error_page("参数错误 (unknown consent)")
        return Response.redirect(self._back(query))

    def _back(self, query: dict) -> str:
        """The redirect_uri with a fresh code for the current WeChat user, and the state."""
        code = secrets.token_hex(16)
        with self._lock:
            self._codes[code] = {
                "openid": self.current_openid,
                "unionid": self.current_unionid,
                "scope": query["scope"],
                "issued": time.monotonic(),
                "used": False,
            }
        separator = "&" if "?" in query["redirect_uri"] else "?"
        params = urllib.parse.urlencode({"code": code, "state": query["state"]})
        return f"{query['redirect_uri']}{separator}{params}"

    def last_code(self) -> str:
        """The newest code handed out (for tests that replay one)."""
        with self._lock:
            return next(reversed(self._codes))

    # --- api.weixin.qq.com ----------------------------------------------------------

    def _access_token(self, request: Request) -> Response:
        q = request.query
        if q.get("appid") != self.appid:
            return _error(40013, "invalid appid")
        if q.get("secret") != self.secret:
            return _error(40125, "invalid appsecret")
        if q.get("grant_type") != "authorization_code":
            return _error(40002, "invalid grant_type")
        with self._lock:
            grant = self._codes.get(q.get("code", ""))
            if grant is None or time.monotonic() - grant["issued"] > self.code_ttl:
                return _error(40029, "invalid code")
            if grant["used"]:
                return _error(40163, "code been used")
            grant["used"] = True
            token = secrets.token_urlsafe(24)
            self._tokens[token] = {"openid": grant["openid"], "scope": grant["scope"]}
        answer = {
            "access_token": token,
            "expires_in": TOKEN_TTL,
            "refresh_token": secrets.token_urlsafe(24),
            "openid": grant["openid"],
            "scope": grant["scope"],
        }
        if self.snapshot_user:
            answer["is_snapshotuser"] = 1
        if grant["unionid"]:
            answer["unionid"] = grant["unionid"]
        return Response.json(answer)

    def _userinfo(self, request: Request) -> Response:
        if self.userinfo_down:
            return Response("Service Unavailable", 503)
        q = request.query
        with self._lock:
            token = self._tokens.get(q.get("access_token", ""))
        if token is None:
            return _error(40001, "invalid credential, access_token is invalid or not latest")
        if q.get("openid") != token["openid"]:
            return _error(40003, "invalid openid")
        if token["scope"] != "snsapi_userinfo":
            return _error(48001, "api unauthorized")
        answer = {
            "openid": token["openid"],
            "nickname": self.current_nickname,
            "sex": 0,
            "province": "",
            "city": "",
            "country": "",
            "headimgurl": "",
            "privilege": [],
        }
        if self.current_unionid:
            answer["unionid"] = self.current_unionid
        response = Response.json(answer)
        # No charset: a client that lets requests guess (Latin-1 for text/*) garbles
        # a Chinese nickname; the API's body is UTF-8.
        response.headers["Content-Type"] = "text/plain"
        return response
