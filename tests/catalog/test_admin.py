"""The product back office: inlines, price edits that reach the storefront, import and export."""

from decimal import Decimal
from io import BytesIO

import pytest
import tablib
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from catalog import services
from catalog.models import Category, Product, StockMovement, Variant
from catalog.resources import VariantResource

pytestmark = pytest.mark.django_db

HEADERS = [
    "sku",
    "name",
    "name_en",
    "product_slug",
    "product_name",
    "product_name_en",
    "category",
    "price",
    "compare_at_price",
    "is_active",
    "stock",
]


@pytest.fixture
def admin(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-123456-long")


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


def test_a_price_change_shows_on_the_cached_product_page(
    client, variant, django_capture_on_commit_callbacks
):
    url = variant.product.get_absolute_url()
    assert "¥100.00" in client.get(url).content.decode()  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        services.set_variant_price(variant, price=Decimal("88.00"), compare_at_price=Decimal("100"))
    body = client.get(url).content.decode()
    assert "¥88.00" in body and "¥100.00" in body


def test_a_price_change_in_the_variant_list_shows_on_the_category_page(
    client, admin_client, variant, django_capture_on_commit_callbacks
):
    page = reverse("catalog:category", args=[variant.product.category.slug])
    assert "¥100.00" in client.get(page).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:catalog_variant_changelist"),
            {
                "form-TOTAL_FORMS": "1",
                "form-INITIAL_FORMS": "1",
                "form-0-id": variant.pk,
                "form-0-price": "77.00",
                "form-0-compare_at_price": "99.00",
                "form-0-stock": str(variant.stock),  # as shown: not changed
                "_save": "Save",
            },
        )
    assert response.status_code == 302
    body = client.get(page).content.decode()
    assert "¥77.00" in body and "¥99.00" in body


def test_the_product_form_shows_stock_but_does_not_take_it(admin_client, variant):
    product = variant.product
    url = reverse("admin:catalog_product_change", args=[product.pk])
    assert admin_client.get(url).status_code == 200
    data = {
        "category": product.category_id,
        "name": product.name,
        "name_en": product.name_en,
        "slug": product.slug,
        "is_active": "on",
        "is_featured": "on",
        "variants-TOTAL_FORMS": "1",
        "variants-INITIAL_FORMS": "1",
        "variants-0-id": variant.pk,
        "variants-0-product": product.pk,
        "variants-0-name": variant.name,
        "variants-0-sku": variant.sku,
        "variants-0-price": "100.00",
        "variants-0-compare_at_price": "90.00",  # below the price: refused
        "variants-0-stock": "999",
        "variants-0-is_active": "on",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "specs-TOTAL_FORMS": "0",
        "specs-INITIAL_FORMS": "0",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "划线价必须高于售价。" in response.content.decode()  # the admin speaks zh-hans
    data["variants-0-compare_at_price"] = "120.00"
    assert admin_client.post(url, data).status_code == 302
    variant.refresh_from_db()
    product.refresh_from_db()
    assert (variant.compare_at_price, variant.stock, product.is_featured) == (
        Decimal("120.00"),
        10,
        True,
    )


def rows_dataset(*rows):
    return tablib.Dataset(*rows, headers=HEADERS)


def good_rows(category):
    return [
        [
            "MT-500",
            "500ml",
            "500ml",
            "maotai",
            "茅台",
            "Maotai",
            category.slug,
            "299",
            "399",
            "1",
            "12",
        ],
        [
            "MT-6X",
            "6瓶装",
            "6 bottles",
            "maotai",
            "茅台",
            "Maotai",
            category.slug,
            "1699",
            "",
            "1",
            "",
        ],
    ]


def test_import_creates_products_and_moves_stock_by_the_admin(category, admin):
    result = VariantResource().import_data(rows_dataset(*good_rows(category)), user=admin)
    assert not result.has_errors() and not result.has_validation_errors()
    product = Product.objects.get(slug="maotai")
    assert list(product.variants.order_by("price").values_list("sku", "price", "stock")) == [
        ("MT-500", Decimal("299.00"), 12),
        ("MT-6X", Decimal("1699.00"), 0),
    ]
    movement = StockMovement.objects.get(variant__sku="MT-500")
    assert (movement.quantity, movement.reason, movement.actor) == (12, "import", admin)


def test_import_updates_an_existing_variant_and_counts_stock(variant, admin):
    dataset = rows_dataset(
        [variant.sku, "500ml", "", variant.product.slug, "新名字", "", "baijiu", "95", "", "0", "4"]
    )
    result = VariantResource().import_data(dataset, user=admin)
    assert not result.has_validation_errors()
    variant.refresh_from_db()
    assert (variant.price, variant.is_active, variant.stock, variant.product.name) == (
        Decimal("95.00"),
        False,
        4,
        "新名字",
    )


@pytest.mark.parametrize(
    ("column", "value", "field"),
    [
        ("category", "no-such-category", "category"),
        ("price", "abc", "price"),
        ("compare_at_price", "100", "compare_at_price"),  # not above the price
        ("stock", "-3", "stock"),
        ("product_slug", "", "product"),
    ],
)
def test_a_bad_row_is_reported_and_nothing_is_imported(category, admin, column, value, field):
    rows = good_rows(category)
    rows.append(["BAD-1", "瓶", "", "bad", "坏", "", category.slug, "200", "", "1", "1"])
    rows[-1][HEADERS.index(column)] = value
    result = VariantResource().import_data(rows_dataset(*rows), user=admin)
    assert result.has_validation_errors()
    (invalid,) = result.invalid_rows
    assert invalid.number == 3
    assert field in invalid.error_dict
    assert not Variant.objects.exists() and not Product.objects.exists()
    assert not StockMovement.objects.exists()


def test_import_through_the_admin_from_an_xlsx_file(admin_client, category):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in good_rows(category):
        sheet.append([float(v) if v.replace(".", "").isdigit() and v else v for v in row])
    upload = BytesIO()
    book.save(upload)
    upload.seek(0)
    upload.name = "products.xlsx"
    url = reverse("admin:catalog_variant_import")
    response = admin_client.post(url, {"resource": "0", "format": "1", "import_file": upload})
    assert response.status_code == 200
    confirm = response.context["confirm_form"]
    response = admin_client.post(
        reverse("admin:catalog_variant_process_import"),
        {**confirm.initial, "resource": "0"},
    )
    assert response.status_code == 302
    assert Variant.objects.get(sku="MT-500").stock == 12
    movement = StockMovement.objects.get(variant__sku="MT-500")
    assert (movement.actor.username, movement.reason) == ("boss", "import")
    assert Variant.objects.get(sku="MT-6X").price == Decimal("1699.00")


def test_a_bad_row_in_the_admin_shows_its_error_and_offers_no_confirm(admin_client, category):
    rows = good_rows(category)
    rows[1][HEADERS.index("category")] = "no-such-category"
    upload = BytesIO(rows_dataset(*rows).export("csv").encode())
    upload.name = "products.csv"
    response = admin_client.post(
        reverse("admin:catalog_variant_import"),
        {"resource": "0", "format": "0", "import_file": upload},
    )
    assert response.status_code == 200
    assert response.context.get("confirm_form") is None
    assert "no-such-category" in response.content.decode()
    assert not Variant.objects.exists()


def test_export_lists_every_variant_with_its_product_and_stock(admin_client, make_variant):
    variant = make_variant(price="168.00", stock=7)
    variant.compare_at_price = Decimal("199.00")
    variant.save()
    every_field = {f"variantresource_{name}": "on" for name in VariantResource._meta.fields}
    response = admin_client.post(
        reverse("admin:catalog_variant_export"), {"format": "0", "resource": "0", **every_field}
    )
    assert response.status_code == 200
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",") == HEADERS
    assert lines[1].split(",") == [
        variant.sku,
        "500ml",
        "",
        "liquor-1",
        "酒1",
        "Liquor 1",
        "baijiu",
        "168.00",
        "199.00",
        "1",
        "7",
    ]


def test_export_from_the_product_list_gives_the_variants_of_the_filtered_products(
    admin_client, make_variant
):
    kept, _other = make_variant(), make_variant()
    Product.objects.filter(pk=kept.product_id).update(is_featured=True)
    every_field = {f"variantresource_{name}": "on" for name in VariantResource._meta.fields}
    response = admin_client.post(
        reverse("admin:catalog_product_export") + "?is_featured__exact=1",
        {"format": "0", "resource": "0", **every_field},
    )
    lines = response.content.decode("utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == [kept.sku]


def test_export_as_xlsx_reads_back(category, make_variant):
    make_variant(price="68.00", stock=5)
    data = VariantResource().export().export("xlsx")
    sheet = load_workbook(BytesIO(data)).active
    assert [cell.value for cell in sheet[1]] == HEADERS
    assert Category.objects.count() == 1


@pytest.mark.parametrize(
    "name",
    [
        "admin:catalog_product_changelist",
        "admin:catalog_product_add",
        "admin:catalog_product_import",
        "admin:catalog_variant_changelist",
        "admin:catalog_variant_export",
        "admin:catalog_category_changelist",
    ],
)
def test_back_office_pages_open(admin_client, variant, png, name):
    from catalog.models import ProductImage

    ProductImage.objects.create(product=variant.product, image=png())
    assert admin_client.get(reverse(name)).status_code == 200
    change = reverse("admin:catalog_product_change", args=[variant.product_id])
    assert "400.webp" in admin_client.get(change).content.decode()
