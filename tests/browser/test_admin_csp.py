"""The back office works under the Content Security Policy: its scripts run, nothing is
blocked (open_page fails a test on any violation the browser reports)."""

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse

from .conftest import WIDTHS

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in_as_staff(page, shop_server, user):
    """A session for `user`, handed to the browser as its cookie (the sign-in form is
    another part's business, with its own tests)."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session.session_key,
                "url": shop_server.url,
            }
        ]
    )


def test_the_admin_changelists_and_forms_run_their_scripts(
    open_page, shop_server, django_user_model, make_variant
):
    variant = make_variant()
    boss = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-123456-long")
    page = open_page(WIDTHS["desktop"], "en")
    signed_in_as_staff(page, shop_server, boss)
    for url in (
        reverse("admin:catalog_category_changelist"),
        reverse("admin:catalog_product_changelist"),
        reverse("admin:catalog_product_change", args=[variant.product.pk]),
        reverse("admin:catalog_product_add"),
    ):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert "/admin/login/" not in page.url, "not signed in to the admin"
    # The admin's own JavaScript ran (its select-all checkbox on a changelist works).
    page.goto(reverse("admin:catalog_product_changelist"))
    page.locator("#action-toggle").check()
    assert page.locator("input.action-select").first.is_checked()
