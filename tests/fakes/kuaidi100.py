"""A fake of Kuaidi100 (快递100)'s tracking API on loopback, for tests.

It implements, as Kuaidi100 documents them, the parts our adapter uses, so the
real client (orders.tracking.kuaidi100) talks to it through KUAIDI100_BASE_URL:

- Real-time query: POST /poll/query.do, form ``customer``, ``param`` (JSON
  {com, num, phone, resultv2, ...}), ``sign`` = upper-case MD5(param + key +
  customer). A bad customer or sign is refused; a parcel with no steps yet
  answers returnCode 500 (查询无结果); SF Express (shunfeng) needs ``phone``.
  The answer lists steps newest first, as Kuaidi100's default order is desc.
- Subscription: POST /poll, form ``schema=json`` and ``param`` (JSON {company,
  number, key, parameters: {callbackurl, salt, resultv2, phone}}). A wrong key
  is refused (600), a parcel subscribed twice answers 501 (重复订阅).
- Push: `signed_push()` builds the form Kuaidi100 posts to a subscription's
  callback URL (``param`` with status, message, autoCheck, comOld, comNew and
  lastResult; ``sign`` = upper-case MD5(param + salt)), and `push()` posts it.

Where the fake is simpler than Kuaidi100 it says so: the returnCode of a
missing phone for SF (408 here) and of a malformed subscription (700) are the
fake's choice; tests that depend on such a point prove only what the fake does.
"""

import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request

from .server import FakeServer, Request, Response

NEEDS_PHONE = {"shunfeng", "shunfengkuaiyun"}


def md5_upper(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest().upper()  # noqa: S324 - as Kuaidi100 signs


def step(time: str, context: str, area: str = "") -> dict:
    """One step as Kuaidi100 returns it (time and ftime the same here)."""
    return {"time": time, "ftime": time, "context": context, "areaName": area}


class FakeKuaidi100(FakeServer):
    def __init__(self, *, customer: str = "CUSTOMER1", key: str = "KEY1"):
        super().__init__()
        self.customer, self.key = customer, key
        # (company, number) -> {"state": "0", "ischeck": "0", "data": [steps oldest first]}
        self.parcels: dict[tuple[str, str], dict] = {}
        # (company, number) -> the subscription's param as posted
        self.subscriptions: dict[tuple[str, str], dict] = {}
        self.queries: list[dict] = []

    # --- set-up by tests ---
    def add_steps(self, company: str, number: str, *steps: dict, state="0", ischeck="0"):
        parcel = self.parcels.setdefault((company, number), {"data": []})
        parcel["data"].extend(steps)
        parcel.update(state=state, ischeck=ischeck)

    def _result(self, company: str, number: str) -> dict:
        parcel = self.parcels.get((company, number), {"data": [], "state": "0", "ischeck": "0"})
        return {
            "message": "ok",
            "nu": number,
            "ischeck": parcel["ischeck"],
            "condition": "F00",
            "com": company,
            "status": "200",
            "state": parcel["state"],
            "data": list(reversed(parcel["data"])),  # newest first
        }

    # --- the API ---
    def handle(self, request: Request) -> Response:
        if request.method != "POST":
            return Response("", 405)
        if request.path == "/poll/query.do":
            return self.query(request.form)
        if request.path == "/poll":
            return self.subscribe(request.form)
        return Response("not found", 404)

    def query(self, form: dict) -> Response:
        param = form.get("param", "")
        if form.get("customer") != self.customer:
            return Response.json({"result": False, "returnCode": "601", "message": "客户不存在"})
        if form.get("sign") != md5_upper(param + self.key + self.customer):
            return Response.json({"result": False, "returnCode": "503", "message": "验证签名失败"})
        data = json.loads(param)
        self.queries.append(data)
        company, number = data.get("com", ""), data.get("num", "")
        if not company or not number:
            return Response.json({"result": False, "returnCode": "400", "message": "参数错误"})
        if company in NEEDS_PHONE and not data.get("phone"):
            return Response.json(
                {"result": False, "returnCode": "408", "message": "快递公司参数异常：手机号"}
            )
        if not self.parcels.get((company, number), {}).get("data"):
            return Response.json(
                {"result": False, "returnCode": "500", "message": "查询无结果，请隔段时间再查"}
            )
        return Response.json(self._result(company, number))

    def subscribe(self, form: dict) -> Response:
        if form.get("schema") != "json":
            return Response.json({"result": False, "returnCode": "700", "message": "schema"})
        data = json.loads(form.get("param") or "{}")
        if data.get("key") != self.key:
            return Response.json(
                {"result": False, "returnCode": "600", "message": "您不是合法的订阅者"}
            )
        parameters = data.get("parameters") or {}
        callback = parameters.get("callbackurl", "")
        if (
            not data.get("company")
            or not data.get("number")
            or urllib.parse.urlsplit(callback).scheme not in ("http", "https")
        ):
            return Response.json({"result": False, "returnCode": "700", "message": "参数错误"})
        parcel = (data["company"], data["number"])
        if parcel in self.subscriptions:
            return Response.json({"result": False, "returnCode": "501", "message": "重复订阅"})
        self.subscriptions[parcel] = data
        return Response.json({"result": True, "returnCode": "200", "message": "提交成功"})

    # --- pushes ---
    def signed_push(
        self, company: str, number: str, *, status: str = "polling", message: str = ""
    ) -> tuple[str, dict]:
        """(callback URL, form) of the push Kuaidi100 would send for a subscribed parcel."""
        subscription = self.subscriptions[(company, number)]
        parameters = subscription["parameters"]
        param = json.dumps(
            {
                "status": status,
                "billstatus": "",
                "message": message,
                "autoCheck": "0",
                "comOld": "",
                "comNew": "",
                "lastResult": self._result(company, number),
            },
            ensure_ascii=False,
        )
        form = {"param": param}
        if parameters.get("salt"):
            form["sign"] = md5_upper(param + parameters["salt"])
        return parameters["callbackurl"], form

    def push(self, company: str, number: str, **kwargs) -> dict:
        """Post the push to the subscription's callback URL; returns the JSON answer."""
        url, form = self.signed_push(company, number, **kwargs)
        body = urllib.parse.urlencode(form).encode()
        try:
            with urllib.request.urlopen(url, data=body, timeout=10) as response:  # noqa: S310
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            return json.loads(error.read())
