"""Catalog data: compare-at prices, images with thumbnails, specs and the sold count."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from PIL import Image

from catalog import inventory
from catalog.models import ProductImage, ProductSpec, StockMovement


@pytest.mark.django_db
def test_compare_at_price_must_be_above_the_price(variant):
    variant.compare_at_price = variant.price
    with pytest.raises(ValidationError) as error:
        variant.full_clean()
    assert "compare_at_price" in error.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        variant.save()


@pytest.mark.django_db
def test_compare_at_price_is_optional_and_shows_a_discount(variant):
    variant.full_clean()
    assert not variant.has_discount
    variant.compare_at_price = Decimal("129.00")
    variant.full_clean()
    variant.save()
    assert variant.has_discount


@pytest.mark.django_db
def test_saving_an_image_makes_small_and_large_thumbnails(variant, png, media):
    image = ProductImage.objects.create(product=variant.product, image=png(), alt_text="瓶身")
    with Image.open(media / image.small_url.removeprefix("/media/")) as small:
        assert max(small.size) == 400
        assert small.format == "WEBP"
    with Image.open(media / image.large_url.removeprefix("/media/")) as large:
        assert large.size == (600, 800)


@pytest.mark.django_db
def test_a_small_image_is_never_enlarged(variant, png, media):
    image = ProductImage.objects.create(product=variant.product, image=png(size=(300, 200)))
    with Image.open(media / image.large_url.removeprefix("/media/")) as large:
        assert large.size == (300, 200)


@pytest.mark.django_db
def test_specs_show_in_the_visitors_language(variant, settings):
    from django.utils import translation

    spec = ProductSpec.objects.create(
        product=variant.product, name="产地", name_en="Origin", value="贵州", value_en="Guizhou"
    )
    assert (spec.display_name, spec.display_value) == ("产地", "贵州")
    with translation.override("en"):
        assert (spec.display_name, spec.display_value) == ("Origin", "Guizhou")


@pytest.mark.django_db
def test_sales_and_returns_move_the_sold_count(make_variant):
    first, second = make_variant(stock=10), make_variant(stock=10)
    inventory.sell([(first.pk, 3), (second.pk, 1)], reference="A1")
    inventory.sell([(first.pk, 2)], reference="A2")
    inventory.put_back([(first.pk, 1)], kind=StockMovement.Kind.RETURNED, reference="A2")
    # stock is sold when an order is placed: a cancelled order was never a sale
    inventory.put_back([(second.pk, 1)], kind=StockMovement.Kind.RELEASED, reference="A1")
    inventory.receive(first, 5, actor=None)
    inventory.set_stock(second, 3, actor=None, reason="stock-take")
    first.product.refresh_from_db()
    second.product.refresh_from_db()
    assert (first.product.sold_count, second.product.sold_count) == (4, 0)


@pytest.mark.django_db
def test_deleting_an_image_removes_its_files(
    variant, png, media, django_capture_on_commit_callbacks
):
    image = ProductImage.objects.create(product=variant.product, image=png())
    folder = media / "products" / str(variant.product_id)
    assert len(list(folder.iterdir())) == 3
    with django_capture_on_commit_callbacks(execute=True):
        image.delete()
    assert list(folder.iterdir()) == []


@pytest.mark.django_db
def test_deleting_a_product_in_the_admin_removes_its_pictures(
    admin_client, category, png, media, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from catalog.models import Product

    product = Product.objects.create(category=category, name="新品", slug="new")
    ProductImage.objects.create(product=product, image=png())
    folder = media / "products" / str(product.pk)
    assert len(list(folder.iterdir())) == 3
    url = reverse("admin:catalog_product_delete", args=[product.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Product.objects.filter(pk=product.pk).exists()
    assert list(folder.iterdir()) == []
