"""Fixtures for the Alipay gateway tests: keys, the fake Alipay, our notify endpoint.

Imported by test_alipay.py (`from tests.payments.alipay_fixtures import *`).
"""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from orders import services as order_services
from payments import services
from payments.models import Payment
from tests.fakes.alipay import FakeAlipay, _private_key, generate_key_pair
from tests.fakes.server import FakeServer, Response

APP_ID = "2021000117600001"

__all__ = [
    "APP_ID",
    "alipay_keys",
    "alipay_order",
    "alipay_payment",
    "cert_chain",
    "fake_alipay",
    "make_alipay_payment",
    "notify_receiver",
]


@pytest.fixture(scope="session")
def alipay_keys():
    """Three RSA 2048 pairs, made once per run (each takes a moment to generate)."""
    app_private, app_public = generate_key_pair()
    alipay_private, alipay_public = generate_key_pair()
    stranger_private, _ = generate_key_pair()
    return {
        "app_private": app_private,
        "app_public": app_public,
        "alipay_private": alipay_private,
        "alipay_public": alipay_public,
        "stranger_private": stranger_private,  # signs forgeries
    }


@pytest.fixture
def fake_alipay(settings, alipay_keys):
    """A running FakeAlipay, and the settings that make our gateway talk to it."""
    fake = FakeAlipay(APP_ID, alipay_keys["app_public"], alipay_keys["alipay_private"]).start()
    settings.PAYMENT_GATEWAYS = ["alipay", "sandbox"]
    settings.ALIPAY_APP_ID = APP_ID
    settings.ALIPAY_APP_PRIVATE_KEY = alipay_keys["app_private"]
    settings.ALIPAY_PUBLIC_KEY = alipay_keys["alipay_public"]
    settings.ALIPAY_APP_CERT = settings.ALIPAY_PUBLIC_CERT = settings.ALIPAY_ROOT_CERT = ""
    settings.ALIPAY_GATEWAY_URL = fake.url + "/gateway.do"
    yield fake
    fake.wait_for_idle()
    fake.stop()


class NotifyReceiver(FakeServer):
    """Stands in for our notify URL on the wire: records each delivery and answers
    from `answers` in turn (the last one repeats)."""

    def __init__(self, answers=("success",)):
        super().__init__()
        self.answers = list(answers)
        self.forms: list[dict] = []

    def handle(self, request):
        self.forms.append(request.form)
        body = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return Response(body, 200, {"Content-Type": "text/plain"})

    @property
    def notify_url(self) -> str:
        return self.url + "/payments/notify/alipay/"


@pytest.fixture
def notify_receiver():
    receiver = NotifyReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def alipay_order(shopper, variant, address):
    return order_services.place_order(shopper, [(variant.pk, 1)], address=address)


def make_alipay_payment(order, channel: str = "page") -> Payment:
    """The payment the service makes to pay `order` through Alipay this way."""
    return services.start_payment(order, gateway_code="alipay", channel=channel)


@pytest.fixture
def alipay_payment(fake_alipay, alipay_order):
    return make_alipay_payment(alipay_order)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Certification Authority"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ant Financial"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        ]
    )


def _certificate(subject: str, public_pem: str, issuer: str, issuer_private_pem: str, serial: int):
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(serialization.load_pem_public_key(public_pem.encode()))
        .serial_number(serial)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(_private_key(issuer_private_pem), hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )


def cert_sn(issuer: str, serial: int) -> str:
    """Alipay's certificate serial number: md5 of the issuer's DN and the serial, in decimal."""
    dn = f"CN={issuer},OU=Certification Authority,O=Ant Financial,C=CN"
    return hashlib.md5((dn + str(serial)).encode()).hexdigest()  # noqa: S324 - Alipay's algorithm


@pytest.fixture(scope="session")
def cert_chain(alipay_keys):
    """A root CA that issued the app's certificate and Alipay's public-key certificate."""
    root_private, root_public = generate_key_pair()
    root = _certificate("Fake Alipay Root", root_public, "Fake Alipay Root", root_private, 1001)
    return {
        "root": root,
        "root_sn": cert_sn("Fake Alipay Root", 1001),
        "app": _certificate(
            "app " + APP_ID, alipay_keys["app_public"], "Fake Alipay Root", root_private, 2002
        ),
        "app_sn": cert_sn("Fake Alipay Root", 2002),
        "alipay": _certificate(
            "Alipay public key",
            alipay_keys["alipay_public"],
            "Fake Alipay Root",
            root_private,
            3003,
        ),
        "alipay_sn": cert_sn("Fake Alipay Root", 3003),
    }
