"""Every page carries a Content Security Policy, and no template needs it loosened."""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from orders import services as order_services
from payments import services as payment_services

pytestmark = pytest.mark.django_db

TEMPLATES = Path(django_settings.BASE_DIR) / "templates"
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
STYLE_TAG = re.compile(r"<style\b", re.I)


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.fixture
def shop(client, shopper, variant, address, default_plan):
    """A shopper who is also a distributor, with an order to pay and a full cart."""
    from distributors.network import join_network
    from distributors.tree import place_nodes

    place_nodes(join_network(shopper, invite_code=None).tree_id)
    order = order_services.place_order(shopper, [(variant.pk, 1)], address=address)
    payment_services.start_payment(order, gateway_code="sandbox")
    client.force_login(shopper)
    client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": 1})
    return order, variant


def storefront_pages(order, variant):
    return [
        reverse("catalog:home"),
        reverse("catalog:product", args=[variant.product.slug]),
        reverse("catalog:category", args=[variant.product.category.slug]),
        reverse("orders:cart"),
        reverse("orders:checkout"),
        reverse("payments_pages:cashier", args=[order.number]),
        reverse("payments_pages:sandbox", args=[order.payments.get().reference]),
        reverse("payments_pages:return", args=[order.payments.get().reference]),
        reverse("orders:list"),
        reverse("orders:detail", args=[order.number]),
        reverse("distributors:dashboard"),
        reverse("commissions:earnings"),
        reverse("accounts:login"),
    ]


def test_every_storefront_page_sends_the_policy(client, shop):
    order, variant = shop
    for url in storefront_pages(order, variant):
        response = client.get(url)
        assert response.status_code == 200, url
        rules = policy(response)
        assert rules["script-src"] == ["'self'"], url
        assert rules["default-src"] == ["'self'"]
        assert rules["frame-ancestors"] == ["'none'"]
        assert rules["object-src"] == ["'none'"]
        assert rules["base-uri"] == ["'self'"]
        assert rules["img-src"] == ["'self'", "data:"]
        assert "'unsafe-inline'" not in rules["style-src"]


def test_the_admin_sends_the_policy(client, django_user_model, variant):
    admin = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-123456-long")
    client.force_login(admin)
    for url in (
        reverse("admin:index"),
        reverse("admin:catalog_product_changelist"),
        reverse("admin:catalog_product_change", args=[variant.product.pk]),
        reverse("admin:catalog_category_changelist"),
    ):
        response = client.get(url)
        assert policy(response)["script-src"] == ["'self'"], url


def test_form_action_allows_only_us_and_the_offered_gateways(client, settings):
    settings.PAYMENT_GATEWAYS = ["sandbox"]
    assert policy(client.get(reverse("catalog:home")))["form-action"] == ["'self'"]
    settings.PAYMENT_GATEWAYS = ["alipay"]
    settings.ALIPAY_GATEWAY_URL = "https://openapi.alipay.com/gateway.do"
    assert policy(client.get(reverse("catalog:home")))["form-action"] == [
        "'self'",
        "https://openapi.alipay.com",
    ]


def test_no_template_has_an_inline_script_handler_or_style_element():
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for attrs, body in SCRIPT_TAG.findall(text):
            data_only = re.search(r'type="application/(json|ld\+json)"', attrs)
            if body.strip() and not data_only and "nonce=" not in attrs:
                offenders.append(f"{path.relative_to(TEMPLATES)}: inline <script>")
        if HANDLER.search(text):
            offenders.append(f"{path.relative_to(TEMPLATES)}: on*= handler")
        if STYLE_TAG.search(text):
            offenders.append(f"{path.relative_to(TEMPLATES)}: <style> element")
    assert offenders == []
