"""A fake of Aliyun SMS (阿里云短信服务, Dysmsapi 2017-05-25) on loopback, for tests.

It implements, as Aliyun documents them, the parts our backend uses, so the
real SDK (alibabacloud_dysmsapi20170525) talks to it through ALIYUN_SMS_ENDPOINT:

- Every request is an RPC call (POST /, the parameters in the query string or a
  form body) signed with signature V3, ACS3-HMAC-SHA256: the canonical request
  (method, path, the parameters sorted and RFC 3986-encoded, each signed header
  as ``name:value``, the signed header names, the hex SHA-256 of the body) is
  hashed, and the string ``ACS3-HMAC-SHA256\\n<that hash>`` is HMAC-SHA256'd with
  the AccessKey secret. The fake recomputes it from what it received (with
  hashlib and hmac, not the SDK's code) and refuses as Aliyun does: an unknown
  AccessKeyId (404 InvalidAccessKeyId.NotFound), a wrong signature (400
  SignatureDoesNotMatch), a body that does not match x-acs-content-sha256, a
  date more than 15 minutes off (400 InvalidTimeStamp.Expired), a nonce used
  twice (400 SignatureNonceUsed).
- SendSms (PhoneNumbers, SignName, TemplateCode, TemplateParam, OutId) answers
  ``{"Code": "OK", "Message": "OK", "BizId", "RequestId"}`` with HTTP 200, and
  a business refusal with HTTP 200 too and its code: isv.MOBILE_NUMBER_ILLEGAL,
  isv.SMS_SIGNATURE_ILLEGAL, isv.SMS_TEMPLATE_ILLEGAL, isv.INVALID_JSON_PARAM,
  isv.TEMPLATE_MISSING_PARAMETERS.
- QuerySendDetails (PhoneNumber, SendDate yyyyMMdd, PageSize <= 50,
  CurrentPage, optional BizId) lists what was sent to the number that day
  (Beijing time) as ``SmsSendDetailDTOs.SmsSendDetailDTO``, each with its OutId
  and SendStatus (1 waiting for the receipt, 2 failed, 3 delivered).

Tests steer it: `fail_next(code, status=...)` makes the next SendSms answer an
error (a business code with HTTP 200, or an HTTP error like 500), and
`hang_next_send()` makes the next SendSms record the message (Aliyun took it)
and then not answer until `release()`, as a provider that is slow when the
worker dies. `sent` holds every message taken, `with_out_id(key)` those of one
OutId.

Where the fake is simpler than Aliyun it says so: it knows one AccessKey pair,
keeps every message at SendStatus 1 unless a test sets it, and checks the
TemplateParam against ``${name}`` variables of the templates it was given.
"""

import hashlib
import hmac
import json
import re
import threading
import time
import urllib.parse
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from .server import FakeServer, Request, Response

ALGORITHM = "ACS3-HMAC-SHA256"
VERSION = "2017-05-25"
BEIJING = ZoneInfo("Asia/Shanghai")
MAX_CLOCK_SKEW = timedelta(minutes=15)
MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")  # the fake: mainland numbers only
VARIABLE = re.compile(r"\$\{(\w+)\}")
# Headers Aliyun requires in every V3 signature (any other x-acs-* header must be signed too).
REQUIRED_SIGNED = {"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date"}
REQUIRED_SIGNED |= {"x-acs-signature-nonce", "x-acs-version"}


def percent_encode(text: str) -> str:
    """RFC 3986, as the V3 canonical query string wants it (space is %20, ~ stays)."""
    return urllib.parse.quote(text, safe="~")


def canonical_request(request: Request, signed_headers: list[str], payload_hash: str) -> str:
    params = urllib.parse.parse_qsl(request.raw_query, keep_blank_values=True)
    query = "&".join(
        f"{percent_encode(key)}={percent_encode(value)}" for key, value in sorted(params)
    )
    headers = "".join(
        f"{name}:{request.headers.get(name, '').strip()}\n" for name in signed_headers
    )
    return "\n".join(
        [
            request.method,
            request.path or "/",
            query,
            headers,
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def signature(secret: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return hmac.new(secret.encode(), f"{ALGORITHM}\n{digest}".encode(), hashlib.sha256).hexdigest()


def parse_authorization(value: str) -> dict[str, str] | None:
    """``ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..`` -> its three parts."""
    algorithm, _space, rest = value.partition(" ")
    if algorithm != ALGORITHM:
        return None
    parts = dict(item.strip().partition("=")[::2] for item in rest.split(","))
    if not {"Credential", "SignedHeaders", "Signature"} <= parts.keys():
        return None
    return parts


def request_id() -> str:
    return str(uuid.uuid4()).upper()


def error(code: str, message: str, status: int) -> Response:
    """An error as Aliyun's API gateway answers it."""
    return Response.json(
        {
            "RequestId": request_id(),
            "HostId": "dysmsapi.aliyuncs.com",
            "Code": code,
            "Message": message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}",
        },
        status=status,
    )


class FakeAliyunSms(FakeServer):
    def __init__(
        self,
        *,
        access_key_id: str = "LTAI5tFakeKeyId",
        access_key_secret: str = "fake-secret-0123456789",
        sign_names: tuple[str, ...] = ("最香商城",),
        templates: dict[str, str] | None = None,
    ):
        super().__init__()
        self.access_key_id, self.access_key_secret = access_key_id, access_key_secret
        self.sign_names = set(sign_names)
        # TemplateCode -> its text with ${variables}
        self.templates = templates or {"SMS_1001": "您的订单${number}已发货"}
        self.sent: list[dict] = []
        self.refused: list[dict] = []  # requests refused for their signature or key
        self._nonces: set[str] = set()
        self._failures: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        self._hang_next = False
        self.hanging = threading.Event()  # set once a hung SendSms has recorded its message
        self._release = threading.Event()

    # --- set-up by tests ---
    def fail_next(self, code: str, message: str = "", *, status: int = 200) -> None:
        """The next SendSms answers `code` (HTTP `status`) and sends nothing."""
        with self._lock:
            self._failures.append((code, message or code, status))

    def hang_next_send(self) -> None:
        """The next SendSms takes the message and then answers only after `release()`."""
        with self._lock:
            self._hang_next = True
            self._release.clear()
            self.hanging.clear()

    def release(self) -> None:
        self._release.set()

    def stop(self) -> None:
        self.release()  # a hung handler thread must not outlive the test
        super().stop()

    def record(
        self,
        phone: str,
        out_id: str,
        *,
        sign_name: str = "",
        template_code: str = "",
        params: dict | None = None,
        content: str = "",
        status: int = 1,
    ) -> str:
        """Keep a message as taken (by SendSms, or set up by a test); its BizId."""
        with self._lock:
            biz_id = f"{int(time.time() * 1000) % 10**15:015d}{len(self.sent):04d}^0"
            self.sent.append(
                {
                    "PhoneNumber": phone,
                    "SignName": sign_name,
                    "TemplateCode": template_code,
                    "TemplateParam": params or {},
                    "OutId": out_id,
                    "BizId": biz_id,
                    "Content": content,
                    "SendDate": datetime.now(BEIJING),
                    "SendStatus": status,
                }
            )
        return biz_id

    def with_out_id(self, out_id: str) -> list[dict]:
        return [message for message in self.sent if message["OutId"] == out_id]

    # --- the API ---
    def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/":
            return error("InvalidAction.NotFound", "Specified api is not found.", 404)
        refusal = self.verify(request)
        if refusal is not None:
            self.refused.append({"headers": request.headers, "query": request.query})
            return refusal
        params = {**request.query, **(request.form if request.body else {})}
        action = request.headers.get("x-acs-action")
        if request.headers.get("x-acs-version") != VERSION:
            return error("InvalidVersion", "Specified parameter Version is not valid.", 400)
        if action == "SendSms":
            return self.send_sms(params)
        if action == "QuerySendDetails":
            return self.query_send_details(params)
        return error("InvalidAction.NotFound", "Specified api is not found.", 404)

    def verify(self, request: Request) -> Response | None:
        """None when the request is signed by our AccessKey, else Aliyun's refusal."""
        parts = parse_authorization(request.headers.get("authorization", ""))
        if parts is None:
            return error("MissingAuthorization", "Authorization is mandatory.", 400)
        if parts["Credential"] != self.access_key_id:
            return error("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
        signed = parts["SignedHeaders"].split(";")
        unsigned_acs = {
            name for name in request.headers if name.startswith("x-acs-") and name not in signed
        }
        if not set(signed) >= REQUIRED_SIGNED or unsigned_acs or signed != sorted(signed):
            return error(
                "IncompleteSignature", "The request signature does not conform to standards.", 400
            )
        payload_hash = hashlib.sha256(request.body).hexdigest()
        if request.headers.get("x-acs-content-sha256") != payload_hash:
            return error(
                "SignatureDoesNotMatch", "Specified signature does not match our calculation.", 400
            )
        expected = signature(
            self.access_key_secret, canonical_request(request, signed, payload_hash)
        )
        if not hmac.compare_digest(expected, parts["Signature"]):
            return error(
                "SignatureDoesNotMatch", "Specified signature does not match our calculation.", 400
            )
        try:
            sent_at = datetime.strptime(request.headers["x-acs-date"], "%Y-%m-%dT%H:%M:%SZ")
        except (KeyError, ValueError):
            return error("InvalidTimeStamp.Format", "Specified time stamp is not valid.", 400)
        if abs(datetime.now(UTC) - sent_at.replace(tzinfo=UTC)) > MAX_CLOCK_SKEW:
            return error(
                "InvalidTimeStamp.Expired", "Specified time stamp or date has expired.", 400
            )
        nonce = request.headers["x-acs-signature-nonce"]
        with self._lock:
            if nonce in self._nonces:
                return error(
                    "SignatureNonceUsed", "Specified signature nonce was used already.", 400
                )
            self._nonces.add(nonce)
        return None

    def _answer(self, code: str, message: str, **extra) -> Response:
        return Response.json({"Code": code, "Message": message, "RequestId": request_id(), **extra})

    def send_sms(self, params: dict) -> Response:
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
            hang, self._hang_next = self._hang_next, False
        if failure is not None:
            code, message, status = failure
            if status != 200:
                return error(code, message, status)
            return self._answer(code, message)
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                return error(f"Missing{name}", f"{name} is mandatory for this action.", 400)
        phone = params["PhoneNumbers"]
        if "," in phone or not MAINLAND_MOBILE.match(phone):
            return self._answer("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if params["SignName"] not in self.sign_names:
            return self._answer("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        template = self.templates.get(params["TemplateCode"])
        if template is None:
            return self._answer("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            values = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            values = None
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            return self._answer("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        missing = [name for name in VARIABLE.findall(template) if name not in values]
        if missing:
            return self._answer("isv.TEMPLATE_MISSING_PARAMETERS", "模板缺少变量")
        content = f"【{params['SignName']}】" + VARIABLE.sub(lambda m: values[m.group(1)], template)
        biz_id = self.record(
            phone,
            params.get("OutId", ""),
            sign_name=params["SignName"],
            template_code=params["TemplateCode"],
            params=values,
            content=content,
        )
        if hang:
            self.hanging.set()
            self._release.wait(timeout=300)
        return self._answer("OK", "OK", BizId=biz_id)

    def query_send_details(self, params: dict) -> Response:
        for name in ("PhoneNumber", "SendDate", "PageSize", "CurrentPage"):
            if not params.get(name):
                return error(f"Missing{name}", f"{name} is mandatory for this action.", 400)
        try:
            day = datetime.strptime(params["SendDate"], "%Y%m%d").date()
            size, page = int(params["PageSize"]), int(params["CurrentPage"])
        except ValueError:
            return self._answer("isv.INVALID_PARAMETERS", "参数异常")
        if not 1 <= size <= 50 or page < 1:
            return self._answer("isv.INVALID_PARAMETERS", "参数异常")
        if (datetime.now(BEIJING).date() - day).days > 30:
            return self._answer("isv.INVALID_PARAMETERS", "只支持查询近30天的记录")
        found = [
            message
            for message in self.sent
            if message["PhoneNumber"] == params["PhoneNumber"]
            and message["SendDate"].date() == day
            and params.get("BizId") in (None, "", message["BizId"])
        ]
        shown = found[(page - 1) * size : page * size]
        return self._answer(
            "OK",
            "OK",
            TotalCount=len(found),
            SmsSendDetailDTOs={
                "SmsSendDetailDTO": [
                    {
                        "PhoneNum": message["PhoneNumber"],
                        "SendStatus": message["SendStatus"],
                        "ErrCode": "DELIVERED" if message["SendStatus"] == 3 else "",
                        "TemplateCode": message["TemplateCode"],
                        "Content": message["Content"],
                        "SendDate": message["SendDate"].strftime("%Y-%m-%d %H:%M:%S"),
                        "ReceiveDate": message["SendDate"].strftime("%Y-%m-%d %H:%M:%S")
                        if message["SendStatus"] == 3
                        else "",
                        "OutId": message["OutId"],
                    }
                    for message in shown
                ]
            },
        )
