"""What a shopper sees on the home, category, search and product pages."""

from decimal import Decimal

import pytest
from django.urls import reverse

from catalog import inventory
from catalog.models import Category, Product, ProductImage, ProductSpec, Variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(category):
    """白酒 > 酱香型, with products across both and a wine category beside them."""
    sauce = Category.objects.create(
        name="酱香型", name_en="Sauce aroma", slug="sauce", parent=category
    )
    wine = Category.objects.create(name="葡萄酒", name_en="Wine", slug="wine")

    def product(slug, name, name_en, cat, prices, stock=10, **extra):
        item = Product.objects.create(category=cat, slug=slug, name=name, name_en=name_en, **extra)
        for n, price in enumerate(prices):
            variant = Variant.objects.create(
                product=item, sku=f"{slug}-{n}", name=f"{n}", price=Decimal(price)
            )
            if stock:
                inventory.receive(variant, stock, actor=None)
        return item

    return {
        "maotai": product("maotai", "茅台镇酱香 53度", "Maotai Town", sauce, ["299.00", "1699.00"]),
        "luzhou": product("luzhou", "泸州老窖", "Luzhou Classic", category, ["168.00"], stock=0),
        "yibin": product(
            "yibin",
            "宜宾五粮",
            "Yibin Five Grain",
            category,
            ["899.00"],
            description="五种粮食酿造",
            description_en="Distilled from five grains",
        ),
        "cabernet": product("cabernet", "贺兰山赤霞珠", "Helan Cabernet", wine, ["238.00"]),
        "hidden": product("hidden", "下架酒", "Withdrawn", category, ["50.00"], is_active=False),
    }


def names(response, key="page"):
    listing = response.context[key]
    items = listing.object_list if hasattr(listing, "object_list") else listing
    return [product.slug for product in items]


def test_category_lists_sub_category_products_but_not_inactive_ones(client, shop, category):
    response = client.get(reverse("catalog:category", args=[category.slug]))
    assert sorted(names(response)) == ["luzhou", "maotai", "yibin"]


def test_an_inactive_category_is_not_found(client, shop):
    Category.objects.filter(slug="wine").update(is_active=False)
    assert client.get(reverse("catalog:category", args=["wine"])).status_code == 404
    assert client.get(reverse("catalog:product", args=["cabernet"])).status_code == 404


def test_hiding_a_category_hides_its_sub_categories_and_their_products(client, shop, category):
    category.is_active = False
    category.save()
    assert client.get(reverse("catalog:category", args=["sauce"])).status_code == 404
    assert client.get(reverse("catalog:product", args=["maotai"])).status_code == 404
    assert names(client.get(reverse("catalog:search"), {"q": "茅台"})) == []
    assert names(client.get(reverse("catalog:home")), "products") == ["cabernet"]


def test_an_inactive_product_has_no_page(client, shop):
    assert client.get(reverse("catalog:product", args=["hidden"])).status_code == 404


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("茅台", ["maotai"]),  # a Chinese substring, no word breaks
        ("酱香", ["maotai"]),
        ("cabernet", ["cabernet"]),
        ("five grains", ["yibin"]),  # the English description
        ("粮食", ["yibin"]),
        ("下架", []),  # inactive products are never found
        ("nothing-like-this", []),
    ],
)
def test_search_finds_products_by_name_and_description(client, shop, query, found):
    response = client.get(reverse("catalog:search"), {"q": query})
    assert response.status_code == 200
    assert names(response) == found


def test_an_empty_search_shows_a_hint_and_no_products(client, shop):
    response = client.get(reverse("catalog:search"))
    assert response.status_code == 200
    assert response.context["page"] is None


def test_price_range_matches_a_variant_inside_it(client, shop, category):
    url = reverse("catalog:category", args=[category.slug])
    # maotai's 1,699 bottle is in range although its cheapest is not
    assert sorted(names(client.get(url, {"min_price": "800"}))) == ["maotai", "yibin"]
    assert names(client.get(url, {"max_price": "200"})) == ["luzhou"]
    assert sorted(names(client.get(url, {"min_price": "100", "max_price": "300"}))) == [
        "luzhou",
        "maotai",
    ]


def test_bad_price_input_is_ignored_with_a_message(client, shop, category):
    url = reverse("catalog:category", args=[category.slug])
    response = client.get(url, {"min_price": "abc", "max_price": "-5", "sort": "nonsense"})
    assert response.status_code == 200
    assert sorted(names(response)) == ["luzhou", "maotai", "yibin"]
    assert 'class="flash flash-warning" role="alert"' in response.content.decode()
    assert response.context["form"].errors.keys() == {"min_price", "max_price", "sort"}


def test_a_minimum_above_the_maximum_is_explained(client, shop, category):
    url = reverse("catalog:category", args=[category.slug])
    response = client.get(url, {"min_price": "500", "max_price": "100"})
    assert response.status_code == 200
    assert "max_price" in response.context["form"].errors


def test_in_stock_only_hides_sold_out_products(client, shop, category):
    url = reverse("catalog:category", args=[category.slug])
    assert sorted(names(client.get(url, {"in_stock": "1"}))) == ["maotai", "yibin"]


def test_sorting_by_price_and_sales(client, shop, category):
    url = reverse("catalog:category", args=[category.slug])
    assert names(client.get(url, {"sort": "price_asc"})) == ["luzhou", "maotai", "yibin"]
    assert names(client.get(url, {"sort": "price_desc"})) == ["yibin", "maotai", "luzhou"]
    yibin = shop["yibin"].variants.get()
    inventory.sell([(yibin.pk, 3)], reference="A1")
    assert names(client.get(url, {"sort": "best"}))[0] == "yibin"


def test_newest_first_by_default(client, shop, category):
    response = client.get(reverse("catalog:category", args=[category.slug]))
    assert names(response) == ["yibin", "luzhou", "maotai"]


def test_pagination_keeps_the_filters(client, category, settings, monkeypatch):
    from catalog import selectors

    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    for n in range(5):
        product = Product.objects.create(category=category, slug=f"p{n}", name=f"酒{n}")
        Variant.objects.create(product=product, sku=f"S{n}", name="瓶", price=Decimal("10"))
    response = client.get(
        reverse("catalog:category", args=[category.slug]), {"sort": "price_asc", "max_price": "50"}
    )
    body = response.content.decode()
    assert 'href="?sort=price_asc&amp;max_price=50&amp;page=2"' in body
    second = client.get(
        reverse("catalog:category", args=[category.slug]),
        {"sort": "price_asc", "max_price": "50", "page": "2"},
    )
    assert second.context["page"].number == 2
    assert not set(names(response)) & set(names(second))


def test_product_page_selects_the_first_variant_in_stock(client, category):
    product = Product.objects.create(category=category, slug="p", name="酒")
    small = Variant.objects.create(product=product, sku="S", name="250ml", price=Decimal("89"))
    large = Variant.objects.create(
        product=product,
        sku="L",
        name="500ml",
        price=Decimal("168"),
        compare_at_price=Decimal("199"),
    )
    inventory.receive(large, 3, actor=None)
    response = client.get(product.get_absolute_url())
    body = response.content.decode()
    assert response.context["selected"] == large
    assert f'value="{large.pk}" checked' in body
    assert f'value="{small.pk}" disabled' in body
    assert "¥168.00" in body and "<s" in body and "¥199.00" in body
    assert 'data-stock="3"' in body


def test_product_page_shows_gallery_specs_and_related(client, shop, png):
    maotai = shop["maotai"]
    for position, name in enumerate(["front.png", "back.png"]):
        ProductImage.objects.create(
            product=maotai, image=png(name), alt_text=name, position=position
        )
    ProductSpec.objects.create(product=maotai, name="产地", value="贵州茅台镇")
    for n in range(6):
        other = Product.objects.create(category=maotai.category, slug=f"o{n}", name=f"酱{n}")
        Variant.objects.create(product=other, sku=f"O{n}", name="瓶", price=Decimal("10"))

    response = client.get(maotai.get_absolute_url())
    body = response.content.decode()
    assert body.count("data-gallery-thumb") == 2
    assert "front.800.webp" in body and "back.400.webp" in body
    assert "贵州茅台镇" in body
    related = response.context["related"]
    assert len(related) == 4 and maotai not in related
    assert all(item.category_id == maotai.category_id for item in related)


def test_home_shows_featured_products_first_and_category_covers(client, shop, png):
    Product.objects.filter(slug="cabernet").update(is_featured=True)
    ProductImage.objects.create(product=shop["maotai"], image=png())
    response = client.get(reverse("catalog:home"))
    assert names(response, "products")[0] == "cabernet"
    covers = {category.slug: category.cover for category in response.context["categories"]}
    assert covers["baijiu"].endswith("bottle.png") and covers["wine"] is None
    assert "hidden" not in names(response, "products")


def test_prices_are_shown_in_yuan_with_the_compare_at_price_struck(client, shop):
    Variant.objects.filter(sku="yibin-0").update(compare_at_price=Decimal("1299.00"))
    body = client.get(reverse("catalog:home")).content.decode()
    assert "¥899.00" in body
    assert '<s class="compare-at">¥1,299.00</s>' in body


def test_a_cached_page_still_shows_each_visitor_their_own_cart(client, make_user, variant):
    url = variant.product.get_absolute_url()
    assert 'class="cart-count"' in client.get(url).content.decode()  # cached now
    buyer = make_user("buyer")
    client.force_login(buyer)
    client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": 2})
    body = client.get(url).content.decode()
    assert ">2</span>" in body  # the buyer's own count, not the cached visitor's 0
    assert 'name="csrfmiddlewaretoken"' in body


def test_the_product_form_adds_the_chosen_variant_to_the_cart(client, variant):
    response = client.get(variant.product.get_absolute_url())
    assert f'name="variant" value="{variant.pk}" checked' in response.content.decode()
    response = client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": 1})
    assert response.url == reverse("orders:cart")
    assert client.get(response.url).context["cart_count"] == 1


@pytest.mark.parametrize(
    "params",
    [
        {"q": "\x00"},
        {"q": "' or 1=1 --"},
        {"q": "a" * 300},
        {"q": "%_\\"},
        {"q": "!!! & | <->"},
        {"q": "茅台", "min_price": "NaN", "max_price": "1e999"},
        {"q": "茅台", "page": "-1", "sort": "relevance"},
    ],
)
def test_odd_search_input_never_fails(client, shop, params):
    assert client.get(reverse("catalog:search"), params).status_code == 200


def test_each_visitor_of_a_cached_product_page_gets_their_own_csrf_token(variant):
    from django.test import Client

    url = variant.product.get_absolute_url()
    tokens = []
    for _visitor in range(2):
        visitor = Client(enforce_csrf_checks=True)
        body = visitor.get(url).content.decode()
        token = body.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        tokens.append(token)
        added = visitor.post(
            reverse("orders:cart_add"),
            {"variant": variant.pk, "quantity": 1, "csrfmiddlewaretoken": token},
        )
        assert added.status_code == 302  # the form of the cached page posts
    assert tokens[0] != tokens[1]


def test_the_language_links_lead_to_this_page_in_the_other_language(client, variant):
    listing = reverse("catalog:category", args=[variant.product.category.slug])
    chinese = client.get(listing + "?sort=best").content.decode()
    assert f'href="/en{listing}?sort=best" hreflang="en"' in chinese
    path = variant.product.get_absolute_url()
    english = client.get(f"/en{path}").content.decode()
    assert f'href="{path}" hreflang="zh-hans"' in english
    assert 'lang="en"' in english.split(">", 2)[1]  # <html lang="en">


def test_an_anonymous_visitor_with_a_cart_sees_their_own_count_in_a_cached_header(client, variant):
    from django.test import Client

    home = reverse("catalog:home")
    assert ">0</span>" in Client().get(home).content.decode()  # header cached for 0
    client.post(reverse("orders:cart_add"), {"variant": variant.pk, "quantity": 3})
    assert ">3</span>" in client.get(home).content.decode()
