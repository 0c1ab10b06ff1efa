"""Security settings read from the environment: trusted only when the operator says so."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from core.checks import check_public_urls

ROOT = Path(__file__).resolve().parents[2]
READ = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.SECURE_PROXY_SSL_HEADER if hasattr(s, 'SECURE_PROXY_SSL_HEADER') "
    "else None, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, "
    "s.DEMO_SITE]))"
)


def settings_under(**env):
    """The settings module as a fresh process loads it with `env` (and no DJANGO_* of ours)."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DEMO_SITE", "SITE_URL"))
    }
    out = subprocess.run(
        [sys.executable, "-c", READ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_hsts_asks_for_no_preload_or_subdomains_and_no_proxy_is_trusted_by_default():
    proxy, seconds, subdomains, preload, demo = settings_under(
        DJANGO_SECURE_HSTS_SECONDS="31536000"
    )
    assert (proxy, seconds, subdomains, preload, demo) == (None, 31536000, False, False, False)


def test_each_is_turned_on_by_its_own_variable():
    proxy, _seconds, subdomains, preload, demo = settings_under(
        DJANGO_SECURE_HSTS_SECONDS="31536000",
        DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS="true",
        DJANGO_SECURE_HSTS_PRELOAD="true",
        DJANGO_SECURE_PROXY_SSL_HEADER="true",
        DJANGO_DEBUG="true",
    )
    assert (proxy, subdomains, preload, demo) == (
        ["HTTP_X_FORWARDED_PROTO", "https"],
        True,
        True,
        True,
    )


@pytest.mark.django_db
def test_a_client_claiming_https_is_not_believed_without_a_proxy(client, settings):
    # The test process loads settings with no DJANGO_SECURE_PROXY_SSL_HEADER, as production
    # without a proxy would: the SSL redirect still happens for a forged X-Forwarded-Proto.
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301 and response["Location"].startswith("https://")


@pytest.mark.parametrize(
    ("site_url", "notify_base", "errors"),
    [
        ("http://localhost:8000", "", ["mall.E001"]),
        ("", "", ["mall.E001"]),
        ("https://shop.example.com", "http://localhost:8000", ["mall.E001"]),
        ("https://shop.example.com", "", []),
        ("https://shop.example.com", "https://notify.example.com", []),
    ],
)
def test_public_addresses_are_required_with_debug_off(site_url, notify_base, errors):
    with override_settings(DEBUG=False, SITE_URL=site_url, PAYMENT_NOTIFY_BASE_URL=notify_base):
        assert [error.id for error in check_public_urls(None)] == errors
    with override_settings(DEBUG=True, SITE_URL="http://localhost:8000"):
        assert check_public_urls(None) == []


def test_the_public_address_check_is_part_of_the_deploy_check():
    from django.core.checks import run_checks

    with override_settings(DEBUG=False, SITE_URL=""):
        assert "mall.E001" in [m.id for m in run_checks(include_deployment_checks=True)]
        assert "mall.E001" not in [m.id for m in run_checks()]
