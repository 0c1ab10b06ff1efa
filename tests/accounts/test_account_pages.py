"""Profile, password change and reset, and the cart across sign-out and sign-in."""

import re

from django.core import mail
from django.urls import reverse

from orders.cart import MAX_QUANTITY


def test_the_profile_page_saves_name_email_and_phone(client, shopper):
    client.force_login(shopper)

    response = client.post(
        reverse("accounts:profile"),
        {"first_name": "王五", "email": "wang@example.com", "phone": "13700000000"},
    )

    assert response.status_code == 302
    shopper.refresh_from_db()
    assert (shopper.first_name, shopper.email, shopper.phone) == (
        "王五",
        "wang@example.com",
        "13700000000",
    )


def test_a_bad_profile_phone_changes_nothing(client, shopper):
    client.force_login(shopper)

    response = client.post(
        reverse("accounts:profile"), {"first_name": "X", "email": "x@example.com", "phone": "12"}
    )

    assert response.status_code == 200
    shopper.refresh_from_db()
    assert (shopper.first_name, shopper.phone) == ("", "")


def test_changing_the_password_keeps_the_user_signed_in(client, shopper):
    client.force_login(shopper)

    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": "pw-123456-long",
            "new_password1": "a-new-Secret-42",
            "new_password2": "a-new-Secret-42",
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("accounts:profile")
    shopper.refresh_from_db()
    assert shopper.check_password("a-new-Secret-42")
    assert response.context["user"].is_authenticated


def test_a_password_reset_by_email_lets_the_user_sign_in_with_the_new_one(
    client, shopper, django_capture_on_commit_callbacks
):
    # The worker sends the mail once the request's transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:password_reset"), {"email": shopper.email})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/\S+)", mail.outbox[0].body).group(1)

    form_url = client.get(link, follow=True).redirect_chain[-1][0]
    response = client.post(
        form_url, {"new_password1": "reset-Secret-77", "new_password2": "reset-Secret-77"}
    )

    assert response.url == reverse("accounts:password_reset_complete")
    assert client.login(username="shopper", password="reset-Secret-77")


def test_an_unknown_email_sends_nothing_and_says_the_same(client, db):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})
    assert response.url == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def _login(client, username="shopper"):
    return client.post(
        reverse("accounts:login"), {"username": username, "password": "pw-123456-long"}
    )


def _add(client, variant, quantity):
    client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": quantity})


def _cart(client):
    return client.session.get("cart", {})


def test_the_visitor_cart_and_the_saved_cart_add_up_at_sign_in(client, shopper, make_variant):
    a, b = make_variant(stock=10), make_variant(stock=10)
    # given a cart left at sign-out
    client.force_login(shopper)
    _add(client, a, 2)
    client.post(reverse("accounts:logout"))
    assert _cart(client) == {}
    # and a visitor's cart on the next visit
    _add(client, a, 3)
    _add(client, b, 1)

    _login(client)

    assert _cart(client) == {str(a.pk): 5, str(b.pk): 1}


def test_merged_quantities_are_capped_at_the_stock(client, shopper, make_variant, settings):
    settings.LANGUAGE_CODE = "en"
    variant = make_variant(stock=4)
    shopper.saved_cart = {str(variant.pk): 3, "999999": 2}  # the second vanished
    shopper.save()
    _add(client, variant, 3)

    response = _login(client)

    assert _cart(client) == {str(variant.pk): 4}
    page = client.get(response.url, follow=True)
    assert "lowered to the stock left" in page.content.decode()


def test_merging_never_exceeds_the_per_line_limit(client, shopper, make_variant):
    variant = make_variant(stock=500)
    shopper.saved_cart = {str(variant.pk): MAX_QUANTITY}
    shopper.save()
    _add(client, variant, 5)

    _login(client)

    assert _cart(client) == {str(variant.pk): MAX_QUANTITY}


def test_switching_accounts_leaves_the_cart_with_its_owner(client, shopper, make_user, variant):
    other = make_user("other")
    client.force_login(other)
    _add(client, variant, 2)

    _login(client, "shopper")

    assert _cart(client) == {}
    other.refresh_from_db()
    assert other.saved_cart == {str(variant.pk): 2}
