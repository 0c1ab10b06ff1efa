"""A real browser (Debian's headless Chromium, driven by Playwright) against live_server.

Set CHROMIUM_PATH if Chromium is not at /usr/bin/chromium. Without a browser
these tests are skipped locally and fail under REQUIRE_SERVICES (CI installs it).
Screenshots go to SCREENSHOTS_DIR (default var/screenshots).
"""

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.test.utils import modify_settings
from django.utils import translation
from pytest_django.live_server_helper import LiveServer

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR", "var/screenshots"))
WIDTHS = {"phone": 390, "desktop": 1280}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium():
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "the playwright package"
    if not missing and not Path(CHROMIUM).exists():
        missing = f"Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)"
    if missing:
        if os.environ.get("REQUIRE_SERVICES"):
            pytest.fail(f"REQUIRE_SERVICES is set but the browser tests need {missing}")
        pytest.skip(f"needs {missing}")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the
    # tests make between page steps are ordinary blocking calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def shop_server(django_db_setup):
    """A live server whose threads share the test database's connection.

    Made after the test database (pytest-django's live_server may be made
    before it): on SQLite's in-memory database its threads then share the one
    connection instead of each opening the database on its own, which fails a
    page's read while a gateway's notification writes ("database table is
    locked").
    """
    with modify_settings(ALLOWED_HOSTS={"append": "localhost"}):
        server = LiveServer("localhost")
        yield server
        server.stop()


@pytest.fixture(autouse=True)
def _default_language():
    """The tests' reverse() builds URLs in the active language: the default one, whatever
    an earlier test's request left active in this thread (LocaleMiddleware never resets it)."""
    with translation.override(settings.LANGUAGE_CODE):
        yield


@pytest.fixture(autouse=True)
def _site_url_is_the_live_server(settings, shop_server):
    """With DEBUG off, gateways' notify and return URLs are built from SITE_URL, never
    from the request's host: here the site is the live server."""
    settings.SITE_URL = shop_server.url


@pytest.fixture
def open_page(chromium, shop_server):
    """open_page(width, language, user_agent=None) -> a fresh browser tab on the live server.

    Every page must work under the Content Security Policy: a violation the browser
    reports on the console fails the test."""
    contexts = []
    violations = []

    def open_(width: int, language: str = "zh-hans", user_agent: str | None = None):
        context = chromium.new_context(
            viewport={"width": width, "height": 900},
            base_url=shop_server.url,
            locale="zh-CN" if language == "zh-hans" else "en-US",
            user_agent=user_agent,
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on(
            "console",
            lambda message: (
                violations.append(f"{page.url}: {message.text}")
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    yield open_
    for context in contexts:
        context.close()
    assert violations == []


@pytest.fixture
def screenshot():
    """screenshot(page, name): a full-page PNG under SCREENSHOTS_DIR."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def overflow_px(page) -> int:
    """How far the page scrolls sideways: a phone layout must not."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
