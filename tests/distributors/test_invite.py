"""The invite link and its QR code: the caller's own only, cacheable."""

import pytest
from django.urls import reverse

from distributors import qr

pytestmark = pytest.mark.django_db


def qr_url(code, fmt):
    return reverse("distributors:invite_qr", args=[code, fmt])


@pytest.fixture
def carol_client(client, chain):
    client.force_login(chain[2].user)
    return client


def test_the_dashboard_shows_the_invite_link_and_its_qr_code(carol_client, chain):
    carol = chain[2]
    page = carol_client.get(reverse("distributors:dashboard"))
    assert page.context["invite_url"] == f"http://testserver/r/{carol.invite_code}/"
    assert qr_url(carol.invite_code, "svg") in page.content.decode()


@pytest.mark.parametrize(
    ("fmt", "content_type", "magic"),
    [
        ("png", "image/png", b"\x89PNG"),
        ("svg", "image/svg+xml", b"<?xml"),
    ],
)
def test_the_qr_code_encodes_the_invite_link(carol_client, chain, fmt, content_type, magic):
    carol = chain[2]
    response = carol_client.get(qr_url(carol.invite_code, fmt))
    assert response["Content-Type"] == content_type
    assert response.content.startswith(magic)
    assert response.content == qr.invite_qr(f"http://testserver/r/{carol.invite_code}/", fmt)


def test_the_qr_code_downloads_as_a_named_file(carol_client, chain):
    code = chain[2].invite_code
    response = carol_client.get(qr_url(code, "png") + "?download=1")
    assert response["Content-Disposition"] == f'attachment; filename="invite-{code}.png"'


def test_the_qr_code_is_cached_privately_and_revalidated_by_etag(carol_client, chain):
    url = qr_url(chain[2].invite_code, "svg")
    first = carol_client.get(url)
    assert "private" in first["Cache-Control"] and "max-age=86400" in first["Cache-Control"]

    again = carol_client.get(url, headers={"If-None-Match": first["ETag"]})

    assert again.status_code == 304


def test_another_distributors_qr_code_is_not_found(carol_client, chain):
    alice = chain[0]
    assert carol_client.get(qr_url(alice.invite_code, "png")).status_code == 404


def test_another_distributors_qr_code_is_not_found_even_with_an_etag(carol_client, chain):
    alice, _bob, carol = chain
    etag = carol_client.get(qr_url(carol.invite_code, "png"))["ETag"]
    response = carol_client.get(qr_url(alice.invite_code, "png"), headers={"If-None-Match": etag})
    assert response.status_code == 404


def test_an_unknown_format_is_not_found(carol_client, chain):
    assert carol_client.get(qr_url(chain[2].invite_code, "gif")).status_code == 404


def test_a_shopper_has_no_qr_code(client, shopper, chain):
    client.force_login(shopper)
    response = client.get(qr_url(chain[2].invite_code, "png"))
    assert response.url == reverse("distributors:join")


def test_the_qr_code_needs_a_login(client, chain):
    response = client.get(qr_url(chain[2].invite_code, "png"))
    assert response.status_code == 302 and "/accounts/login/" in response.url
