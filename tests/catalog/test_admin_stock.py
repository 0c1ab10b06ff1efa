"""The stock admin: every change is a movement; the stock number is never typed over."""

from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import StockMovement, Variant


def movements_of(variant):
    return list(
        StockMovement.objects.filter(variant=variant)
        .order_by("pk")
        .values_list("kind", "quantity", "stock_after", "reference", "reason")
    )


def receive_url(variant):
    return reverse("admin:catalog_variant_receive", args=[variant.pk])


def adjust_url(variant):
    return reverse("admin:catalog_variant_adjust", args=[variant.pk])


def stock_of(variant):
    variant.refresh_from_db(fields=["stock"])
    return variant.stock


def test_receiving_stock_adds_a_movement(admin_client, variant):
    response = admin_client.post(
        receive_url(variant), {"quantity": "24", "reference": "DN-001", "reason": "supplier"}
    )

    assert response.status_code == 302
    assert stock_of(variant) == 34
    assert movements_of(variant)[-1] == ("received", 24, 34, "DN-001", "supplier")


@pytest.mark.parametrize("quantity", ["0", "-5", "abc", "", str(10**12)])
def test_a_bad_received_quantity_changes_nothing(admin_client, variant, quantity):
    response = admin_client.post(receive_url(variant), {"quantity": quantity})

    assert response.status_code == 200
    assert stock_of(variant) == 10
    assert len(movements_of(variant)) == 1  # the opening stock


def test_adjusting_to_a_count_records_the_difference(admin_client, variant):
    admin_client.post(adjust_url(variant), {"counted": "7", "reason": "stock-take"})

    assert stock_of(variant) == 7
    assert movements_of(variant)[-1] == ("adjusted", -3, 7, "", "stock-take")


def test_adjusting_by_a_delta(admin_client, variant):
    admin_client.post(adjust_url(variant), {"delta": "-2", "reason": "two broken bottles"})
    assert stock_of(variant) == 8


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"counted": "7"}, "This field is required."),
        ({"counted": "7", "delta": "1", "reason": "x"}, "not both"),
        ({"reason": "x"}, "not both"),
        ({"delta": "0", "reason": "x"}, "changes nothing"),
        ({"delta": "-11", "reason": "x"}, "Only 10 in stock"),
        ({"counted": "-1", "reason": "x"}, "greater than or equal to 0"),
    ],
)
def test_a_bad_adjustment_changes_nothing(admin_client, variant, data, message, settings):
    settings.LANGUAGE_CODE = "en"
    response = admin_client.post(adjust_url(variant), data, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert message in response.content.decode()
    assert stock_of(variant) == 10
    assert len(movements_of(variant)) == 1


def test_the_variant_form_cannot_type_over_the_stock(admin_client, variant):
    url = reverse("admin:catalog_variant_change", args=[variant.pk])
    page = admin_client.get(url).content.decode()
    assert 'name="stock"' not in page
    assert receive_url(variant) in page

    admin_client.post(
        url,
        {
            "product": variant.product_id,
            "name": variant.name,
            "name_en": "",
            "sku": variant.sku,
            "price": "99.00",
            "stock": "999",
            "low_stock_threshold": "5",
            "is_active": "on",
        },
    )

    variant.refresh_from_db()
    assert (variant.price, variant.stock) == (99, 10)


def test_the_product_inline_shows_stock_read_only(admin_client, variant):
    page = admin_client.get(
        reverse("admin:catalog_product_change", args=[variant.product_id])
    ).content.decode()
    assert "variants-0-sku" in page
    assert "variants-0-stock" not in page


def test_the_low_stock_filter_uses_each_variants_threshold(admin_client, make_variant):
    low = make_variant(stock=3)  # threshold 5
    fine = make_variant(stock=3, low_stock_threshold=2)
    make_variant(stock=50)
    out = make_variant(stock=0)

    url = reverse("admin:catalog_variant_changelist")
    low_page = admin_client.get(url, {"stock_level": "low"}).content.decode()
    out_page = admin_client.get(url, {"stock_level": "out"}).content.decode()

    assert low.sku in low_page and out.sku in low_page and fine.sku not in low_page
    assert out.sku in out_page and low.sku not in out_page


def test_the_movement_list_searches_and_filters(admin_client, variant, make_variant):
    other = make_variant()
    url = reverse("admin:catalog_stockmovement_changelist")

    by_sku = admin_client.get(url, {"q": variant.sku}).context["cl"].result_list
    received = admin_client.get(url, {"kind__exact": "received"}).context["cl"].result_list
    sold = admin_client.get(url, {"kind__exact": "sold"}).context["cl"].result_list

    assert {m.variant_id for m in by_sku} == {variant.pk}
    assert {m.variant_id for m in received} == {variant.pk, other.pk}
    assert list(sold) == []


def test_movements_cannot_be_edited_or_added(admin_client, variant):
    movement = StockMovement.objects.filter(variant=variant).first()
    assert admin_client.get(reverse("admin:catalog_stockmovement_add")).status_code == 403
    change = reverse("admin:catalog_stockmovement_change", args=[movement.pk])
    admin_client.post(change, {"quantity": "500"})
    movement.refresh_from_db()
    assert movement.quantity == 10


def test_a_stock_page_needs_the_change_permission(client, make_user, variant):
    staff = make_user("clerk", is_staff=True)
    client.force_login(staff)
    assert client.get(receive_url(variant)).status_code == 403
    assert Variant.objects.get(pk=variant.pk).stock == 10


def test_a_stock_typed_in_the_variant_list_is_recorded_as_a_counted_adjustment(
    admin_client, admin_user, variant
):
    url = reverse("admin:catalog_variant_changelist")
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-id": str(variant.pk),
        "form-0-price": "100.00",
        "form-0-compare_at_price": "",
        "form-0-stock": "25",
        "_save": "Save",
    }
    assert admin_client.post(url, data).status_code == 302
    variant.refresh_from_db()
    adjusted = variant.movements.get(kind="adjusted")
    assert (variant.stock, adjusted.quantity, adjusted.stock_after) == (25, 15, 25)
    assert adjusted.actor == admin_user


def test_saving_a_variant_read_before_a_sale_keeps_the_sale(variant):
    from catalog import inventory

    stale = type(variant).objects.get(pk=variant.pk)  # e.g. an admin form opened earlier
    inventory.sell([(variant.pk, 3)], reference="X1")
    stale.price = Decimal("120.00")
    stale.save()
    variant.refresh_from_db()
    assert (variant.stock, variant.price) == (7, Decimal("120.00"))


def test_saving_a_product_read_before_a_sale_keeps_its_sold_count(variant):
    from catalog import inventory

    stale = type(variant.product).objects.get(pk=variant.product_id)
    inventory.sell([(variant.pk, 2)], reference="X1")
    stale.name = "新名字"
    stale.save()
    stale.refresh_from_db()
    assert (stale.sold_count, stale.name) == (2, "新名字")
