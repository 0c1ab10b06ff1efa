"""What every storefront page has around its content: the favicon, the phone's tab bar,
the category list it leads to, and forms whose hidden fields stay hidden."""

import pytest
from django import forms
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.test import RequestFactory
from django.urls import resolve, reverse

from catalog.models import Category
from catalog.templatetags.tab_bar import current_tab

pytestmark = pytest.mark.django_db


def test_favicon_ico_leads_to_the_shipped_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 302
    assert response.url == static("img/favicon.ico")
    with open(finders.find("img/favicon.ico"), "rb") as icon:
        assert icon.read(4) == b"\x00\x00\x01\x00"  # an ICO file


def test_every_page_links_the_icon(client):
    assert 'rel="icon"' in client.get(reverse("catalog:home")).text


def tab_bar(html: str) -> str:
    return html.split('<nav class="tab-bar"', 1)[1].split("</nav>", 1)[0]


def test_the_tab_bar_highlights_the_current_tab_and_counts_the_cart(client, variant):
    client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": 3})

    bar = tab_bar(client.get(reverse("orders:cart")).text)

    current = bar.split('aria-current="page"', 1)[0].rsplit("<a ", 1)[1]
    assert reverse("orders:cart") in current
    assert bar.count('aria-current="page"') == 1
    assert '<span class="tab-badge">3</span>' in bar


@pytest.mark.parametrize(
    ("url", "tab"),
    [
        (reverse("catalog:home"), "home"),
        (reverse("catalog:categories"), "categories"),
        (reverse("catalog:category", args=["baijiu"]), "categories"),
        (reverse("orders:cart"), "cart"),
        (reverse("orders:checkout"), "cart"),
        (reverse("orders:list"), "me"),
        (reverse("accounts:profile"), "me"),
        (reverse("distributors:dashboard"), "me"),
        (reverse("commissions:earnings"), "me"),
        (reverse("catalog:search"), ""),
        (reverse("catalog:product", args=["maotai"]), ""),
    ],
)
def test_each_page_is_under_its_tab(url, tab):
    request = RequestFactory().get(url)
    request.resolver_match = resolve(url)

    assert current_tab({"request": request}) == tab


def test_an_error_page_is_under_no_tab():
    assert current_tab({"request": RequestFactory().get("/nowhere/")}) == ""


def test_me_leads_to_sign_in_or_to_the_account(client, shopper):
    assert reverse("accounts:login") in tab_bar(client.get(reverse("catalog:home")).text)

    client.force_login(shopper)
    assert reverse("accounts:profile") in tab_bar(client.get(reverse("catalog:home")).text)


def test_the_category_list_shows_each_category_under_its_top_one(client, category):
    Category.objects.create(name="酱香型", slug="sauce", parent=category)
    gone = Category.objects.create(name="下架分类", slug="gone", parent=category, is_active=False)
    Category.objects.create(name="下架子类", slug="gone-child", parent=gone)
    Category.objects.create(name="葡萄酒", slug="wine")

    response = client.get(reverse("catalog:categories"))

    assert response.status_code == 200
    text = response.text
    assert text.index("白酒") < text.index("酱香型") < text.index("葡萄酒")
    assert reverse("catalog:category", args=["sauce"]) in text
    assert "下架分类" not in text
    assert "下架子类" not in text  # active itself, but under a hidden category


class TokenForm(forms.Form):
    token = forms.CharField(label="Request token", widget=forms.HiddenInput)
    amount = forms.DecimalField(label="Amount", help_text="At least 1.00")


def test_a_hidden_field_renders_without_label_or_wrapper():
    html = render_to_string("_form_fields.html", {"form": TokenForm(initial={"token": "abc"})})

    assert "Request token" not in html
    assert '<input type="hidden" name="token" value="abc"' in html
    assert html.count('<div class="field') == 1  # the amount only


def test_an_error_of_a_hidden_field_is_still_shown():
    form = TokenForm(data={"amount": "5"})
    form.is_valid()

    html = render_to_string("_form_fields.html", {"form": form})

    assert "This field is required." in html or "这个字段是必填项" in html
