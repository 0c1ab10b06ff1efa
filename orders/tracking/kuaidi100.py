"""Kuaidi100 (快递100), a tracking aggregator for every carrier of ours, as it documents:

- Real-time query (实时快递查询): POST form ``customer``, ``param``, ``sign`` to
  ``{base}/poll/query.do``; ``param`` is the JSON ``{com, num, phone, resultv2}`` and
  ``sign`` the upper-case hex MD5 of ``param + key + customer``.
- Subscription (订阅推送): POST form ``schema=json`` and ``param`` to ``{base}/poll``;
  ``param`` is ``{company, number, key, parameters: {callbackurl, salt, resultv2,
  phone}}``. Kuaidi100 then posts the parcel's news to the callback URL.
- Push (推送): a form POST with ``param`` (JSON: status, message, autoCheck, comOld,
  comNew, lastResult {state, ischeck, com, nu, data [{time, ftime, context,
  areaName}]}) and ``sign`` = upper-case MD5 of ``param + salt``. We answer
  ``{"result": true, "returnCode": "200", "message": "成功"}``; anything else and
  Kuaidi100 tries again.

Kuaidi100 asks that the real-time query serve a person looking, not bulk status
updates, which the push is for: a parcel is queried right after shipping (the
push only starts some minutes later) and then at most every MIN_POLL_INTERVAL
by the periodic poll, a safety net for lost pushes.

Only the last four digits of the recipient's phone are sent (Kuaidi100 accepts
them; SF Express requires them).
"""

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.urls import reverse

from core.site import public_url

from .base import CarrierAdapter, TrackingError, TrackingUpdate

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")  # Kuaidi100's times are Beijing time, without zone
MIN_POLL_INTERVAL = timedelta(hours=6)
ANSWER_OK = {"result": True, "returnCode": "200", "message": "成功"}
# returnCode of a query that found nothing yet (查询无结果，请隔段时间再查): not an error.
NO_RESULT_YET = "500"
# returnCode of a subscription already made (重复订阅): fine, the push goes on.
ALREADY_SUBSCRIBED = "501"
# Push `status` when Kuaidi100 stopped following a parcel (3天查询无记录, 60天无变化).
ABORTED = "abort"


def md5_upper(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest().upper()  # noqa: S324 - Kuaidi100 signs with MD5


def query_sign(param: str, key: str, customer: str) -> str:
    return md5_upper(param + key + customer)


def push_sign(param: str, salt: str) -> str:
    return md5_upper(param + salt)


def is_signed_for(state: str | None, ischeck: str | None) -> bool:
    """Delivered to the recipient (签收): state 3, or its detailed codes 301-304 when
    resultv2 is on. 4 (退签) and 14 (拒签) end the journey too, but not with the
    shopper; ischeck=1 decides only when no state came."""
    state = str(state or "")
    if state:
        return state == "3" or (len(state) == 3 and state.startswith("3"))
    return str(ischeck or "") == "1"


def _time(text: str) -> datetime:
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)


def parse_result(result: dict) -> list[TrackingUpdate]:
    """Steps of a query answer or a push's lastResult, oldest first; the newest is the
    signature when the state says signed."""
    updates = []
    for step in result.get("data") or []:
        try:
            time = _time(step.get("ftime") or step.get("time") or "")
        except ValueError:
            logger.warning("kuaidi100: step without a readable time skipped: %r", step)
            continue
        description = (step.get("context") or "").strip()
        if description:
            place = step.get("areaName") or step.get("location") or ""
            updates.append(TrackingUpdate(time=time, description=description, place=place))
    updates.sort(key=lambda update: update.time)
    if updates and is_signed_for(result.get("state"), result.get("ischeck")):
        updates[-1] = replace(updates[-1], delivered=True)
    return updates


def phone_tail(phone: str) -> str:
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return digits[-4:]


def callback_url() -> str:
    """Where Kuaidi100 pushes: on SITE_URL, never on a request's Host header."""
    return public_url(reverse("tracking:kuaidi100_push"))


@dataclass(frozen=True)
class Push:
    """A verified push: the parcel (number, under any of `carriers`) and its steps."""

    number: str
    carriers: tuple[str, ...]
    status: str
    message: str
    updates: list[TrackingUpdate]

    @property
    def aborted(self) -> bool:
        return self.status == ABORTED


class BadPush(Exception):
    """A push that is not Kuaidi100's (wrong sign) or cannot be read."""


def read_push(form) -> Push:
    """Verify and read a push's form fields. Raises BadPush; without a salt configured
    nothing can be verified, so everything is refused."""
    param, sign, salt = form.get("param", ""), form.get("sign", ""), settings.KUAIDI100_SALT
    if not salt:
        raise BadPush("KUAIDI100_SALT is not set")
    if not param or not hmac.compare_digest(sign.upper(), push_sign(param, salt)):
        raise BadPush("bad sign")
    try:
        payload = json.loads(param)
        last = payload.get("lastResult") or {}
        number = str(last.get("nu") or "").strip()
        carriers = tuple(
            dict.fromkeys(
                code
                for code in (last.get("com"), payload.get("comOld"), payload.get("comNew"))
                if code
            )
        )
        updates = parse_result(last)
    except (ValueError, AttributeError, TypeError) as exc:
        raise BadPush(f"unreadable param: {exc!r}") from None
    if not number:
        raise BadPush("no tracking number")
    return Push(
        number=number,
        carriers=carriers,
        status=str(payload.get("status") or ""),
        message=str(payload.get("message") or ""),
        updates=updates,
    )


class Kuaidi100Adapter(CarrierAdapter):
    code = "kuaidi100"
    supports_push = True
    min_poll_interval = MIN_POLL_INTERVAL

    def _post(self, path: str, data: dict) -> dict:
        url = settings.KUAIDI100_BASE_URL.rstrip("/") + path
        try:
            response = requests.post(url, data=data, timeout=settings.KUAIDI100_TIMEOUT)
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as exc:
            raise TrackingError(f"kuaidi100 {path}: {exc!r}") from exc

    @staticmethod
    def _param(data: dict) -> str:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    def fetch_events(self, shipment) -> list[TrackingUpdate]:
        param = {"com": shipment.carrier, "num": shipment.tracking_number, "resultv2": "1"}
        phone = phone_tail(shipment.order.recipient_phone)
        if phone:
            param["phone"] = phone
        param = self._param(param)
        customer, key = settings.KUAIDI100_CUSTOMER, settings.KUAIDI100_KEY
        answer = self._post(
            "/poll/query.do",
            {"customer": customer, "param": param, "sign": query_sign(param, key, customer)},
        )
        if str(answer.get("status")) == "200":
            return parse_result(answer)
        if str(answer.get("returnCode")) == NO_RESULT_YET:
            return []
        raise TrackingError(
            f"kuaidi100 query refused: {answer.get('returnCode')} {answer.get('message')}"
        )

    def subscribe(self, shipment) -> None:
        parameters = {
            "callbackurl": callback_url(),
            "salt": settings.KUAIDI100_SALT,
            "resultv2": "1",
        }
        phone = phone_tail(shipment.order.recipient_phone)
        if phone:
            parameters["phone"] = phone
        param = self._param(
            {
                "company": shipment.carrier,
                "number": shipment.tracking_number,
                "key": settings.KUAIDI100_KEY,
                "parameters": parameters,
            }
        )
        answer = self._post("/poll", {"schema": "json", "param": param})
        if answer.get("result") is True or str(answer.get("returnCode")) == ALREADY_SUBSCRIBED:
            return
        raise TrackingError(
            f"kuaidi100 subscription refused: {answer.get('returnCode')} {answer.get('message')}"
        )
