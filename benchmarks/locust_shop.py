"""Locust users for benchmarks.mixed and benchmarks.flash_sale: browsers, buyers, a flash sale.

Configured by the environment the benchmark sets:
  BENCH_PATHS         browsers' paths (comma-separated), walked round-robin, no think time
  BENCH_BROWSERS      how many browsers (fixed)
  BENCH_BUYERS        how many buyers / flash buyers (fixed)
  BENCH_SHOPPERS      a JSON file of signed-in shoppers (benchmarks._seed.seed_shoppers)
  BENCH_VARIANTS      a JSON file of [variant id, product path] pairs buyers choose from
  BENCH_BUY_HOSTS     base URLs (comma-separated) a buyer's requests take in turn
  BENCH_BUY_EVERY_MS  one purchase starts every this many milliseconds, all buyers together
  BENCH_SECONDS       the phase's length: then browsers leave, buyers start no new
                      purchase (the one under way is finished, and counted), and locust
                      quits once all have left
  BENCH_CHECKOUT      the flash buyers' checkout URL
  BENCH_RESULT        where to write the figures once locust has stopped (JSON: every
                      request name's, and the failures), complete where its CSV files,
                      written every second, may miss the last one

Buyers and flash buyers speak English (/en/ URLs), so that the benchmark can
tell the shop's refusals apart by their words. Every request of a buyer goes
to the next of BENCH_BUY_HOSTS, redirects included (a browser follows them):
the cart is filled on one instance and shown by the other, the checkout page
is read on one and posted to the other, and so on.
"""

import base64
import contextlib
import html
import itertools
import json
import os
import random
import re
import time
import zlib
from http.cookiejar import Cookie
from urllib.parse import urlsplit

import gevent
from gevent.event import Event
from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser

PATHS = os.environ.get("BENCH_PATHS", "/").split(",")
BROWSERS = int(os.environ.get("BENCH_BROWSERS", "0"))
BUYERS = int(os.environ.get("BENCH_BUYERS", "0"))
BUY_HOSTS = [h for h in os.environ.get("BENCH_BUY_HOSTS", "").split(",") if h]
BUY_EVERY = float(os.environ.get("BENCH_BUY_EVERY_MS", "100")) / 1000
SECONDS = float(os.environ.get("BENCH_SECONDS", "0"))
LANGUAGE = "/en"
KEEP_ALIVE_S = 4.0  # gunicorn.conf.py's keepalive (5 s), less a margin


def _load(variable: str) -> list:
    path = os.environ.get(variable)
    if not path:
        return []
    with open(path) as file:
        return json.load(file)


SHOPPERS = itertools.cycle(_load("BENCH_SHOPPERS") or [None])
VARIANTS = _load("BENCH_VARIANTS")

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TOKEN_INPUT = re.compile(r'name="checkout_token" value="([^"]+)"')
COUPON_INPUT = re.compile(r'name="coupon" value="([^"]*)"')
ADDRESS_CHOSEN = re.compile(r'<input[^>]*name="address" value="(\d+)"[^>]*checked')
ADDRESS_ANY = re.compile(r'name="address" value="(\d+)"')
FLASH = re.compile(r'class="flash flash-(\w+)".*?<span>(.*?)</span>', re.DOTALL)
ORDER_PAGE = re.compile(r"^/en/orders/(?!cart/|checkout/)([^/]+)/$")


def signed_in(user: FastHttpUser, shopper: dict, *, csrf: bool = False) -> None:
    """Put a prepared shopper's session (and CSRF) cookies in the user's cookie jar."""
    cookies = {"sessionid": shopper["sessionid"]}
    if csrf:
        cookies["csrftoken"] = shopper["csrftoken"]
    for name, value in cookies.items():
        user.client.cookiejar.set_cookie(
            Cookie(
                version=0,
                name=name,
                value=value,
                port=None,
                port_specified=False,
                domain="127.0.0.1",
                domain_specified=False,
                domain_initial_dot=False,
                path="/",
                path_specified=True,
                secure=False,
                expires=None,
                discard=True,
                comment=None,
                comment_url=None,
                rest={},
            )
        )


def flash_message(page: str) -> str:
    """The first message the page shows (messages framework), as text."""
    found = FLASH.search(page)
    return html.unescape(found[2]).strip() if found else ""


def message_in_cookie(jar) -> str:
    """The first message Django's cookie storage of messages holds for the next page.

    The cookie is signed, not encrypted: its payload is the (maybe zlib-compressed,
    then marked with a leading dot) base64 of a JSON list of
    ["__json_message", is_safe, level, message, ...]. Reading it here spares the
    shop the page a browser would load next, so the benchmark measures the checkout.
    """
    for cookie in jar:
        if cookie.name == "messages" and cookie.value:
            payload = cookie.value.strip('"').split(":")[0]
            encoded = payload.lstrip(".")
            data = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            if payload.startswith("."):
                data = zlib.decompress(data)
            messages = json.loads(data)
            return messages[0][3] if messages else ""
    return ""


def refusal_kind(message: str) -> str:
    """What a refused checkout told the shopper, as a kind of failure."""
    text = message.lower()
    if "out of stock" in text or "sold out" in text or re.search(r"only \d+ left", text):
        return "sold out"
    if "busy" in text or "try again" in text or "too many" in text:
        return "busy"
    return f"refused: {message[:120]}" if message else "refused without a message"


class Phase:
    """The phase's end (BENCH_SECONDS after the test starts), and who has left."""

    ends_at = None
    left = 0

    @classmethod
    def is_over(cls) -> bool:
        return cls.ends_at is not None and time.monotonic() >= cls.ends_at

    @classmethod
    def leave(cls, user):
        cls.left += 1
        if cls.left >= BROWSERS + BUYERS:
            gevent.spawn_later(0.5, user.environment.runner.quit)
        raise StopUser


@events.test_start.add_listener
def _phase_starts(**_kwargs):
    if SECONDS:
        Phase.ends_at = time.monotonic() + SECONDS


ENVIRONMENT = None


@events.init.add_listener
def _remember(environment, **_kwargs):
    global ENVIRONMENT
    ENVIRONMENT = environment


@events.quit.add_listener
def _write_result(**_kwargs):
    path = os.environ.get("BENCH_RESULT")
    if not path or ENVIRONMENT is None or ENVIRONMENT.runner is None:
        return
    stats = ENVIRONMENT.runner.stats
    entries = [*stats.entries.values(), stats.total]
    result = {
        "stats": {
            entry.name: {
                "type": entry.method or "",
                "requests": entry.num_requests,
                "failures": entry.num_failures,
                "rps": round(entry.total_rps, 1),
                "p50_ms": entry.get_response_time_percentile(0.5) or 0.0,
                "p95_ms": entry.get_response_time_percentile(0.95) or 0.0,
                "max_ms": round(entry.max_response_time or 0.0, 1),
            }
            for entry in entries
        },
        "failures": [
            {"name": e.name, "error": e.to_dict()["error"], "occurrences": e.occurrences}
            for e in stats.errors.values()
        ],
        "missed_slots": PACER.missed,
    }
    with open(path, "w") as file:
        json.dump(result, file)


class Browser(FastHttpUser):
    """A shopper reading one kind of page, as fast as answers come."""

    fixed_count = BROWSERS
    wait_time = constant(0)

    def on_start(self):
        start = random.randrange(len(PATHS))
        self.paths = itertools.cycle(PATHS[start:] + PATHS[:start])

    @task
    def page(self):
        if Phase.is_over():
            Phase.leave(self)
        with self.client.get(next(self.paths), name="page", catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")


class Pacer:
    """One purchase start every ``interval`` seconds, whichever buyer is free takes it.

    A slot nobody was free to take is skipped (counted), not made up later in a burst.
    """

    def __init__(self, interval: float):
        self.interval = interval
        self.next_slot = None
        self.missed = 0

    def wait(self) -> float:
        now = time.monotonic()
        if self.next_slot is None:
            self.next_slot = now
        elif self.next_slot < now - self.interval:
            self.missed += int((now - self.next_slot) / self.interval)
            self.next_slot = now
        slot, self.next_slot = self.next_slot, self.next_slot + self.interval
        return max(0.0, slot - now)


PACER = Pacer(BUY_EVERY)


class Refused(Exception):
    """A purchase step failed (reported already); the purchase ends there."""


class Buyer(FastHttpUser):
    """A signed-in shopper buying one bottle of a random product, over and over, at the
    shared pace: product page, add to cart, cart, checkout page, place the order, the
    order page, pay now, the sandbox cashier, confirm payment, the return page."""

    fixed_count = BUYERS
    network_timeout = 30.0
    connection_timeout = 30.0

    def wait_time(self):
        return PACER.wait()

    def on_start(self):
        signed_in(self, next(SHOPPERS))
        self.last_used = {}
        first = random.randrange(len(BUY_HOSTS))  # both instances see every step
        self.hosts = itertools.cycle(BUY_HOSTS[first:] + BUY_HOSTS[:first])
        gevent.sleep(PACER.wait())

    @task
    def purchase(self):
        if Phase.is_over():
            Phase.leave(self)
        with contextlib.suppress(Refused):
            self._purchase(*random.choice(VARIANTS))

    def _purchase(self, variant: int, product_path: str):
        product = self.step("01 product", "GET", LANGUAGE + product_path)
        added = self.step(
            "02 cart add",
            "POST",
            "/en/orders/cart/add/",
            data={
                "csrfmiddlewaretoken": self.find(CSRF_INPUT, product, "01 product"),
                "variant": variant,
                "quantity": 1,
                "next": LANGUAGE + product_path,
            },
            expect=302,
            to=r"/en/orders/cart/$",
        )
        self.step("03 cart", "GET", added.headers["Location"])
        page = self.step("04 checkout page", "GET", "/en/orders/checkout/")
        chosen = ADDRESS_CHOSEN.search(page.text) or ADDRESS_ANY.search(page.text)
        placed = self.step(
            "05 place order",
            "POST",
            "/en/orders/checkout/",
            data={
                "csrfmiddlewaretoken": self.find(CSRF_INPUT, page, "04 checkout page"),
                "checkout_token": self.find(TOKEN_INPUT, page, "04 checkout page"),
                "address": chosen[1] if chosen else "",
                "note": "",
                "coupon": self.find(COUPON_INPUT, page, "04 checkout page", required=False),
            },
            expect=302,
            to=ORDER_PAGE.pattern,
        )
        number = ORDER_PAGE.match(placed.headers["Location"])[1]
        order = self.step("06 order page", "GET", placed.headers["Location"])
        started = self.step(
            "07 pay now",
            "POST",
            f"/en/pay/order/{number}/start/",
            data={"csrfmiddlewaretoken": self.find(CSRF_INPUT, order, "06 order page")},
            expect=302,
            to=r"^/en/pay/[^/]+/$",
        )
        opened = self.step(
            "08 open payment", "GET", started.headers["Location"], expect=302, to=r"/sandbox/"
        )
        cashier_path = opened.headers["Location"]
        cashier = self.step("09 sandbox cashier", "GET", cashier_path)
        paid = self.step(
            "10 confirm payment",
            "POST",
            cashier_path,
            data={"csrfmiddlewaretoken": self.find(CSRF_INPUT, cashier, "09 sandbox cashier")},
            expect=302,
            to=r"/return/$",
        )
        self.step("11 return page", "GET", paid.headers["Location"])

    def step(self, name, method, path, *, data=None, expect=200, to=None):
        """One request to the next instance; anything unexpected fails the purchase."""
        base = next(self.hosts)
        self.reconnect_if_idle(base)
        with self.client.request(
            method,
            base + path,
            name=f"buy {name}",
            data=data,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            self.last_used[base] = time.monotonic()
            location = response.headers.get("Location", "") if response.headers else ""
            if response.status_code == expect and (to is None or re.search(to, location)):
                response.success()
                return response
            response.failure(self.why(response, location))
        raise Refused

    def reconnect_if_idle(self, base: str) -> None:
        """Drop a connection to ``base`` idle for longer than KEEP_ALIVE_S: gunicorn
        closes it at 5 s, and a request sent as it does would fail for no fault of the
        shop's (a browser sends it again on a new connection; this client would not)."""
        idle = time.monotonic() - self.last_used.get(base, time.monotonic())
        if idle > KEEP_ALIVE_S:
            parts = urlsplit(base)
            client = self.client.client.clientpool.clients.pop((parts.hostname, parts.port), None)
            if client is not None:
                client.close()

    def why(self, response, location: str) -> str:
        if response.status_code == 0:
            return f"no answer: {type(response.error).__name__}"
        if response.status_code == 302:
            # A refusal: the page it leads to says why (and takes the message off the session).
            page = self.client.get(next(self.hosts) + location, name="buy refusal page")
            return f"302 to {location}: {refusal_kind(flash_message(page.text or ''))}"
        return f"HTTP {response.status_code}"

    def find(self, pattern, response, name: str, *, required: bool = True) -> str:
        found = pattern.search(response.text or "")
        if found:
            return html.unescape(found[1])
        if not required:
            return ""
        events.request.fire(
            request_type="CHECK",
            name=f"buy {name}",
            response_time=0,
            response_length=0,
            exception=Refused(f"no {pattern.pattern[:30]} on the page"),
        )
        raise Refused


class Flash:
    """The flash sale's shared state: everyone starts together, the last one out quits
    after reporting the sale's window (first checkout sent to last answered)."""

    ready = Event()
    started = 0
    finished = 0
    first_sent = None
    last_answered = 0.0


class FlashBuyer(FastHttpUser):
    """A signed-in shopper with the hot item in their cart and the checkout page open
    (its token issued in the seed): when all have arrived, each places the order once,
    reads the answer (an order, or the refusal's message) and leaves."""

    fixed_count = BUYERS
    wait_time = constant(0)
    network_timeout = 60.0
    connection_timeout = 60.0

    def on_start(self):
        self.shopper = next(SHOPPERS)
        signed_in(self, self.shopper, csrf=True)
        Flash.started += 1
        if Flash.started >= BUYERS:
            Flash.ready.set()
        Flash.ready.wait(timeout=60)

    @task
    def checkout(self):
        try:
            kind, elapsed = self._checkout()
            events.request.fire(
                request_type="OUTCOME",
                name=kind,
                response_time=elapsed,
                response_length=0,
                exception=None,
            )
        finally:
            Flash.finished += 1
            if Flash.finished >= BUYERS:
                events.request.fire(
                    request_type="WINDOW",
                    name="sale window",
                    response_time=(Flash.last_answered - Flash.first_sent) * 1000,
                    response_length=0,
                    exception=None,
                )
                gevent.spawn_later(0.5, self.environment.runner.quit)
        raise StopUser

    def _checkout(self) -> tuple[str, float]:
        data = {
            "csrfmiddlewaretoken": self.shopper["csrftoken"],
            "checkout_token": self.shopper["checkout_token"],
            "address": self.shopper["address"],
            "note": "",
            "coupon": "",
        }
        if Flash.first_sent is None:
            Flash.first_sent = time.time()
        with self.client.post(
            os.environ["BENCH_CHECKOUT"],
            data=data,
            name="checkout",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            elapsed = response.request_meta["response_time"]
            Flash.last_answered = max(Flash.last_answered, time.time())
            location = response.headers.get("Location", "") if response.headers else ""
            if response.status_code == 302 and ORDER_PAGE.match(location):
                response.success()
                return "order", elapsed
            if response.status_code == 0:
                kind = "timeout" if "timeout" in repr(response.error).lower() else "no answer"
                response.failure(kind)
                return kind, elapsed
            if response.status_code != 302:
                kind = f"HTTP {response.status_code}"
                if response.status_code == 200:  # the form again, with its message
                    kind = refusal_kind(flash_message(response.text or ""))
                elif response.status_code == 503 and response.headers.get("Retry-After"):
                    kind = "busy (503 page)"
                response.failure(kind)
                return kind, elapsed
            response.success()  # judged by the message it leaves for the next page
        message = message_in_cookie(self.client.cookiejar)
        if not message:  # kept in the session instead: the page shows it
            page = self.client.get(location, name="page after a refusal")
            message = flash_message(page.text or "")
        return refusal_kind(message), elapsed
