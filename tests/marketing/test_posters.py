"""Posters (推广海报): PNGs drawn on the server whose QR code opens the distributor's
own link; only an active distributor downloads them, and only their own."""

from datetime import timedelta
from decimal import Decimal
from io import BytesIO

import pytest
import segno
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from catalog.models import Product, ProductImage, Variant
from distributors.network import suspend_distributor
from marketing import posters, share
from marketing.models import TimedDiscount

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def alice(make_distributor):
    return make_distributor("alice")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice.user)
    return client


def poster_url(product):
    return reverse("marketing:product_poster", args=[product.slug])


def product_link(product, code):
    return f"{settings.SITE_URL}{product.get_absolute_url()}?ref={code}"


def read_qr_modules(poster: Image.Image, url: str):
    """The dark and light modules the poster's QR code shows, read from its pixels at
    the grid a QR code of `url` has (its finder patterns span the dark area)."""
    size = segno.make(url, error="m", micro=False).symbol_size(scale=1, border=0)[0]
    box = (posters.QR_LEFT, posters.QR_TOP)
    area = poster.crop((*box, box[0] + posters.QR_SIZE, box[1] + posters.QR_SIZE)).convert("L")
    left, top, right, bottom = area.point(lambda v: 255 if v < 128 else 0).getbbox()
    step = (right - left) / size
    return [
        [
            area.getpixel((int(left + (x + 0.5) * step), int(top + (y + 0.5) * step))) < 128
            for x in range(size)
        ]
        for y in range(size)
    ]


def qr_modules(url: str):
    return [[bool(bit) for bit in row] for row in segno.make(url, error="m", micro=False).matrix]


def open_png(response) -> Image.Image:
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    return Image.open(BytesIO(response.content))


def test_the_product_poster_is_a_png_of_the_poster_size_to_download(alice_client, variant):
    response = alice_client.get(poster_url(variant.product))

    poster = open_png(response)
    assert (poster.format, poster.size) == ("PNG", (posters.WIDTH, posters.HEIGHT))
    assert response["Content-Disposition"] == (
        f'attachment; filename="poster-{variant.product.slug}.png"'
    )
    assert "private" in response["Cache-Control"]


def test_the_product_posters_qr_code_opens_the_product_with_the_referral_code(
    alice_client, alice, variant
):
    poster = open_png(alice_client.get(poster_url(variant.product)))
    url = product_link(variant.product, alice.invite_code)

    assert read_qr_modules(poster, url) == qr_modules(url)
    # the comparison tells links apart: the same page without the code does not match
    plain = f"{settings.SITE_URL}{variant.product.get_absolute_url()}"
    assert read_qr_modules(poster, plain) != qr_modules(plain)


def test_the_shop_posters_qr_code_opens_the_distributors_invite_link(alice_client, alice):
    response = alice_client.get(reverse("marketing:shop_poster"))

    poster = open_png(response)
    url = f"{settings.SITE_URL}/r/{alice.invite_code}/"
    assert poster.size == (posters.WIDTH, posters.HEIGHT)
    assert read_qr_modules(poster, url) == qr_modules(url)
    assert "attachment" in response["Content-Disposition"]


def test_each_distributor_downloads_a_poster_with_their_own_code_from_the_same_url(
    client, alice, make_distributor, variant
):
    bob = make_distributor("bob")
    client.force_login(bob.user)

    poster = open_png(client.get(poster_url(variant.product)))

    bobs, alices = (product_link(variant.product, d.invite_code) for d in (bob, alice))
    assert read_qr_modules(poster, bobs) == qr_modules(bobs)
    assert read_qr_modules(poster, alices) != qr_modules(alices)


def test_the_product_picture_is_on_the_poster(alice_client, variant):
    buffer = BytesIO()
    Image.new("RGB", (900, 1200), (20, 160, 60)).save(buffer, "PNG")
    ProductImage.objects.create(
        product=variant.product,
        image=SimpleUploadedFile("green.png", buffer.getvalue(), content_type="image/png"),
    )

    poster = open_png(alice_client.get(poster_url(variant.product))).convert("RGB")

    red, green, blue = poster.getpixel((posters.WIDTH // 2, 400))
    assert green > 120 and red < 60 and blue < 100


def test_a_product_without_a_picture_gets_the_drawn_placeholder(alice_client, variant):
    poster = open_png(alice_client.get(poster_url(variant.product))).convert("RGB")

    red, green, blue = poster.getpixel((100, 250))  # the placeholder's red, not the card's white
    assert red > 100 and green < 60 and blue < 60


def test_the_poster_shows_the_sale_price_with_the_list_price_struck_through(variant):
    sale = TimedDiscount.objects.create(
        name="秒杀",
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(hours=1),
    )
    sale.items.create(variant=variant, price=D("79.00"))

    offer = share.offer_of(variant.product)

    assert (offer.price, offer.struck_price) == (D("79.00"), D("100.00"))


def test_without_a_sale_the_compare_at_price_is_struck_through(variant):
    Variant.objects.filter(pk=variant.pk).update(compare_at_price=D("150.00"))

    offer = share.offer_of(variant.product)

    assert (offer.price, offer.struck_price) == (D("100.00"), D("150.00"))


def test_a_repeat_download_is_not_drawn_again(alice_client, variant, monkeypatch):
    drawn = []
    draw = posters._draw_product
    monkeypatch.setattr(posters, "_draw_product", lambda *a: drawn.append(1) or draw(*a))

    first = alice_client.get(poster_url(variant.product))
    again = alice_client.get(poster_url(variant.product))

    assert first.content == again.content
    assert len(drawn) == 1


def test_a_new_price_draws_a_new_poster(alice_client, variant):
    before = alice_client.get(poster_url(variant.product)).content
    Variant.objects.filter(pk=variant.pk).update(price=D("88.00"))

    after = alice_client.get(poster_url(variant.product)).content

    assert after != before


def test_a_poster_download_runs_a_fixed_number_of_queries(
    alice_client, variant, django_assert_num_queries
):
    # session, user, distributor, product, variants, sale prices, cover picture
    for _ in range(2):  # drawn, then from the cache: the same reads
        with django_assert_num_queries(7):
            alice_client.get(poster_url(variant.product))
    # session, user, distributor, featured products
    with django_assert_num_queries(4):
        alice_client.get(reverse("marketing:shop_poster"))


# Who may download -----------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_sign_in(client, variant):
    for url in (poster_url(variant.product), reverse("marketing:shop_poster")):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(resolve_url(settings.LOGIN_URL))


def test_a_shopper_is_refused_a_poster(client, shopper, variant):
    client.force_login(shopper)

    assert client.get(poster_url(variant.product)).status_code == 403
    assert client.get(reverse("marketing:shop_poster")).status_code == 403


def test_a_suspended_distributor_is_refused_a_poster(client, alice, admin_user, variant):
    suspend_distributor(alice, actor=admin_user)
    client.force_login(alice.user)

    assert client.get(poster_url(variant.product)).status_code == 403
    assert client.get(reverse("marketing:shop_poster")).status_code == 403


def test_a_hidden_product_has_no_poster(alice_client, variant):
    Product.objects.filter(pk=variant.product_id).update(is_active=False)

    assert alice_client.get(poster_url(variant.product)).status_code == 404


# The distributor centre -------------------------------------------------------------


def test_the_distributor_centre_links_the_shop_poster(alice_client):
    page = alice_client.get(reverse("distributors:dashboard")).content.decode()

    assert reverse("marketing:shop_poster") in page


def test_a_suspended_distributors_centre_offers_no_poster(client, alice, admin_user):
    suspend_distributor(alice, actor=admin_user)
    client.force_login(alice.user)

    page = client.get(reverse("distributors:dashboard")).content.decode()

    assert reverse("marketing:shop_poster") not in page
