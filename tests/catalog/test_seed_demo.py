import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import StringIO

import pytest
from django.core.management import call_command

from catalog.management.commands.seed_demo import Command
from catalog.models import Product, ProductImage, ProductSpec, Variant


@pytest.mark.django_db
def test_seed_demo_gives_products_pictures_specs_and_former_prices_once(default_plan):
    call_command("seed_demo", stdout=StringIO())
    counts = (ProductImage.objects.count(), ProductSpec.objects.count())
    assert not Product.objects.filter(images=None).exists()
    assert not Product.objects.filter(specs=None).exists()
    assert Product.objects.filter(is_featured=True).exists()
    assert Variant.objects.exclude(compare_at_price=None).exists()

    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert (ProductImage.objects.count(), ProductSpec.objects.count()) == counts
    assert "pictures and specs: 0 created" in out.getvalue()


@pytest.mark.django_db
def test_the_sign_ins_can_be_printed_again_without_seeding(default_plan):
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()

    call_command("seed_demo", "--logins-only", "--site", "127.0.0.1:8102", stdout=out)

    assert "created" not in out.getvalue()
    assert "dave / demo12345" in out.getvalue()
    assert "http://127.0.0.1:8102/r/" in out.getvalue().splitlines()[-1]


class Live(BaseHTTPRequestHandler):
    asked: list[str] = []

    def do_GET(self):
        Live.asked.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.django_db
def test_the_sign_ins_wait_for_the_site_to_answer(default_plan):
    call_command("seed_demo", stdout=StringIO())
    Live.asked.clear()
    server = HTTPServer(("127.0.0.1", 0), Live)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = f"127.0.0.1:{server.server_port}"
    out = StringIO()

    try:
        call_command("seed_demo", "--logins-only", "--when-up", "--site", site, stdout=out)
    finally:
        server.shutdown()
        server.server_close()

    assert Live.asked == ["/health/live/"]
    assert f"http://{site}/r/" in out.getvalue().splitlines()[-1]


def test_waiting_for_a_site_that_never_answers_gives_up_in_time():
    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    started = time.monotonic()

    assert Command.wait_until_up(f"127.0.0.1:{port}", seconds=1) is False
    assert time.monotonic() - started < 5
