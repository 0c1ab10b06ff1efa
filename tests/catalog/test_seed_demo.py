from io import StringIO

import pytest
from django.core.management import call_command

from catalog.models import Product, ProductImage, ProductSpec, Variant


@pytest.mark.django_db
def test_seed_demo_gives_products_pictures_specs_and_former_prices_once(default_plan):
    call_command("seed_demo", stdout=StringIO())
    counts = (ProductImage.objects.count(), ProductSpec.objects.count())
    assert not Product.objects.filter(images=None).exists()
    assert not Product.objects.filter(specs=None).exists()
    assert Product.objects.filter(is_featured=True).exists()
    assert Variant.objects.exclude(compare_at_price=None).exists()

    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert (ProductImage.objects.count(), ProductSpec.objects.count()) == counts
    assert "pictures and specs: 0 created" in out.getvalue()


@pytest.mark.django_db
def test_the_sign_ins_can_be_printed_again_without_seeding(default_plan):
    call_command("seed_demo", stdout=StringIO())
    out = StringIO()

    call_command("seed_demo", "--logins-only", "--site", "127.0.0.1:8102", stdout=out)

    assert "created" not in out.getvalue()
    assert "dave / demo12345" in out.getvalue()
    assert "http://127.0.0.1:8102/r/" in out.getvalue().splitlines()[-1]
