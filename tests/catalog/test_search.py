"""Search finds a product by its category (and the categories above it), its spec
values, its name and its description, listed once, name matches first."""

from decimal import Decimal

import pytest
from django.urls import reverse

from catalog import inventory
from catalog.models import Category, Product, ProductSpec, Variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    baijiu = Category.objects.create(name="白酒", name_en="Baijiu", slug="baijiu")
    sauce = Category.objects.create(
        name="酱香型", name_en="Sauce aroma", slug="sauce", parent=baijiu
    )
    strong = Category.objects.create(
        name="浓香型", name_en="Strong aroma", slug="strong", parent=baijiu
    )
    wine = Category.objects.create(name="葡萄酒", name_en="Wine", slug="wine")
    huangjiu = Category.objects.create(name="黄酒", name_en="Huangjiu", slug="huangjiu")

    def product(slug, name, category, *, specs=(), variants=1, **extra):
        item = Product.objects.create(category=category, slug=slug, name=name, **extra)
        for n in range(variants):
            variant = Variant.objects.create(
                product=item, sku=f"{slug}-{n}", name=f"{n}", price=Decimal("100.00")
            )
            inventory.receive(variant, 5, actor=None)
        for position, (label, value) in enumerate(specs):
            ProductSpec.objects.create(product=item, name=label, value=value, position=position)
        return item

    product(
        "maotai", "茅台镇 53度", sauce, specs=[("香型", "酱香型"), ("产地", "贵州")], variants=2
    )
    product("guizhou-old", "贵州老酒", strong, specs=[("香型", "酱香型")])
    product("luzhou", "泸州老窖", strong, specs=[("香型", "浓香型")])
    product("cabernet", "贺兰山赤霞珠", wine, specs=[("香型", "果香")])
    product("shaoxing", "绍兴花雕", huangjiu, description="江南名酒，温饮最佳。")


def found(client, query, **params):
    response = client.get(reverse("catalog:search"), {"q": query, **params})
    assert response.status_code == 200
    return [product.slug for product in response.context["page"].object_list]


def test_a_top_category_name_finds_the_products_in_its_sub_categories(client, shop):
    assert sorted(found(client, "白酒")) == ["guizhou-old", "luzhou", "maotai"]


@pytest.mark.parametrize(
    ("query", "slugs"),
    [("葡萄酒", ["cabernet"]), ("黄酒", ["shaoxing"]), ("Wine", ["cabernet"])],
)
def test_each_category_name_finds_its_products(client, shop, query, slugs):
    assert found(client, query) == slugs


def test_a_spec_value_finds_products_of_other_categories_too(client, shop):
    # 贵州老酒 sits under 浓香型 but its spec says 酱香型
    assert sorted(found(client, "酱香型")) == ["guizhou-old", "maotai"]


def test_a_product_matching_in_many_ways_is_listed_once(client, shop):
    # 茅台镇 matches by category (白酒 above 酱香型), has two variants and two specs
    assert found(client, "白酒").count("maotai") == 1
    assert found(client, "贵州") == ["guizhou-old", "maotai"]  # name first, then the spec


def test_a_name_match_ranks_above_a_category_match_above_a_description_match(client, shop):
    wine = Category.objects.get(slug="wine")
    for slug, name, description in [
        ("rice-wine", "米酒", "口感近似黄酒。"),  # only its description says 黄酒
        ("huangjiu-cup", "黄酒杯", ""),  # in its name
    ]:
        Product.objects.create(
            category=wine, slug=slug, name=name, description=description
        ).variants.create(sku=slug, name="1", price=Decimal("20.00"))

    # 绍兴花雕 is found by its category, 黄酒
    assert found(client, "黄酒") == ["huangjiu-cup", "shaoxing", "rice-wine"]


def test_a_spec_match_ranks_below_a_name_match_however_new(client, shop):
    strong = Category.objects.get(slug="strong")
    later = Product.objects.create(category=strong, slug="later", name="新品老酒")
    later.variants.create(sku="later", name="1", price=Decimal("20.00"))
    ProductSpec.objects.create(product=later, name="产地", value="贵州")

    # newest first would put the new product (a spec match) above 贵州老酒 (a name match)
    assert found(client, "贵州") == ["guizhou-old", "later", "maotai"]


def test_another_sort_keeps_every_match(client, shop):
    assert sorted(found(client, "白酒", sort="price_asc")) == ["guizhou-old", "luzhou", "maotai"]


@pytest.mark.postgres
def test_several_words_in_any_order_find_a_product_by_its_name_before_its_description(client, shop):
    wine = Category.objects.get(slug="wine")
    for slug, name_en, description_en in [
        ("grain-classic", "Grain Spirit Classic", ""),
        ("one-grain", "Rice Spirit", "A classic spirit from one grain."),  # created later
    ]:
        Product.objects.create(
            category=wine, slug=slug, name=slug, name_en=name_en, description_en=description_en
        ).variants.create(sku=slug, name="1", price=Decimal("20.00"))

    # no substring matches "classic grain": full-text search finds both
    assert found(client, "classic grain") == ["grain-classic", "one-grain"]
