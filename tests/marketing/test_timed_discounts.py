"""Time-limited discounts (限时折扣): what the storefront shows, cached pages that turn
at the start and the end with no catalog edit, the admin's refusals, and what an
order is charged."""

import re
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog import views
from catalog.models import Variant
from catalog.selectors import cache_scope
from marketing import discounts
from marketing.models import TimedDiscount
from orders import services

pytestmark = pytest.mark.django_db

D = Decimal
HOUR = timedelta(hours=1)


def put_on_sale(*prices, starts, ends, active=True) -> TimedDiscount:
    """A time-limited discount of (variant, price) pairs."""
    sale = TimedDiscount.objects.create(
        name="限时折扣", starts_at=starts, ends_at=ends, is_active=active
    )
    for variant, price in prices:
        sale.items.create(variant=variant, price=D(price))
    return sale


@pytest.fixture
def clock(monkeypatch):
    """The storefront's moment: catalog.views reads it once a request and gives it to
    everything the page shows (no other module's clock is touched)."""
    moment = SimpleNamespace(now=timezone.now())
    monkeypatch.setattr(views, "timezone", SimpleNamespace(now=lambda: moment.now))
    return moment


@pytest.fixture
def english(settings):
    settings.LANGUAGE_CODE = "en"


def shown_price(body: str) -> str:
    """The big price of a product page (the chosen variant's)."""
    return re.search(r'data-show="price">([^<]*)<', body)[1]


def card_of(body: str, name: str) -> str:
    """The HTML of the product card titled `name` on a listing."""
    cards = body.split('<article class="product-card">')[1:]
    return next(card for card in cards if f">{name}</h3>" in card)


# --- What the storefront shows ----------------------------------------------------


def test_the_product_page_shows_the_sale_price_the_struck_price_a_badge_and_the_time_left(
    client, variant
):
    ends = timezone.now() + 2 * HOUR
    put_on_sale((variant, "79.00"), starts=timezone.now() - HOUR, ends=ends)

    body = client.get(variant.product.get_absolute_url()).content.decode()

    assert shown_price(body) == "¥79.00"
    assert re.search(r'data-show="compare-at">¥100.00</s>', body)
    assert f'data-sale-for="{variant.pk}"' in body and "badge-sale" in body
    seconds = int(re.search(r'data-countdown="(\d+)"', body)[1])
    assert 2 * 3600 - 5 <= seconds <= 2 * 3600
    assert "js/countdown.js" in body


def test_each_variant_in_the_picker_carries_its_own_price_and_sale(client, variant):
    magnum = Variant.objects.create(
        product=variant.product, name="1.5L", sku="MAG", price=D("260.00"), stock=3
    )
    put_on_sale((magnum, "199.00"), starts=timezone.now() - HOUR, ends=timezone.now() + HOUR)

    body = client.get(variant.product.get_absolute_url()).content.decode()

    chips = dict(re.findall(r'data-price="([^"]*)"\s+data-compare-at="([^"]*)"', body))
    assert chips == {"¥100.00": "", "¥199.00": "¥260.00"}
    # the first variant is chosen and has no sale: the magnum's note waits hidden
    assert shown_price(body) == "¥100.00"
    assert re.search(rf'data-sale-for="{magnum.pk}" hidden', body)
    assert f'data-sale-for="{variant.pk}"' not in body


def test_a_listing_card_shows_the_lowest_price_now_struck_and_badged(client, make_variant):
    on_sale, plain = make_variant(price="300.00"), make_variant(price="120.00")
    cheaper_later = Variant.objects.create(
        product=on_sale.product, name="1L", sku="1L", price=D("500.00"), stock=1
    )
    put_on_sale((cheaper_later, "250.00"), starts=timezone.now() - HOUR, ends=timezone.now() + HOUR)

    body = client.get(reverse("catalog:category", args=["baijiu"])).content.decode()

    card = card_of(body, on_sale.product.name)
    assert "¥250.00" in card and '<s class="compare-at">¥500.00</s>' in card
    assert "badge-sale" in card
    assert "badge-sale" not in card_of(body, plain.product.name)


def test_a_discount_switched_off_or_priced_above_the_variant_shows_nothing(client, make_variant):
    off, dearer = make_variant(price="100.00"), make_variant(price="100.00")
    window = {"starts": timezone.now() - HOUR, "ends": timezone.now() + HOUR}
    put_on_sale((off, "50.00"), active=False, **window)
    sale = put_on_sale(**window)
    Variant.objects.filter(pk=dearer.pk).update(price=D("40.00"))  # now below the sale price
    sale.items.create(variant=dearer, price=D("50.00"))

    body = client.get(reverse("catalog:category", args=["baijiu"])).content.decode()

    assert "badge-sale" not in body and "¥50.00" not in body


def test_the_countdown_of_a_cached_page_counts_from_each_request(client, variant, clock):
    ends = clock.now + HOUR
    put_on_sale((variant, "79.00"), starts=clock.now - HOUR, ends=ends)
    url = variant.product.get_absolute_url()
    client.get(url)  # cached now

    clock.now += timedelta(minutes=10)
    body = client.get(url).content.decode()

    seconds = int(re.search(r'data-countdown="(\d+)"', body)[1])
    assert seconds == 50 * 60


# --- Cached pages turn at the start and at the end --------------------------------


@pytest.fixture
def pages(variant):
    return {
        "product": variant.product.get_absolute_url(),
        "category": reverse("catalog:category", args=["baijiu"]),
        "home": reverse("catalog:home"),
        "search": reverse("catalog:search") + "?q=" + variant.product.name,
    }


@pytest.mark.parametrize("page", ["product", "category", "home", "search"])
def test_a_page_cached_before_the_start_shows_the_sale_price_right_after_it(
    client, variant, clock, pages, page
):
    starts = clock.now + HOUR
    put_on_sale((variant, "66.00"), starts=starts, ends=starts + HOUR)
    assert "¥66.00" not in client.get(pages[page]).content.decode()  # cached at ¥100.00
    clock.now = starts - timedelta(microseconds=1)
    assert "¥66.00" not in client.get(pages[page]).content.decode()

    clock.now = starts
    body = client.get(pages[page]).content.decode()

    assert "¥66.00" in body and "¥100.00" in body  # the sale price, the list price struck


@pytest.mark.parametrize("page", ["product", "category", "home", "search"])
def test_a_page_cached_during_the_sale_shows_the_list_price_right_after_the_end(
    client, variant, clock, pages, page
):
    ends = clock.now + HOUR
    put_on_sale((variant, "66.00"), starts=clock.now - HOUR, ends=ends)
    assert "¥66.00" in client.get(pages[page]).content.decode()  # cached during the sale

    clock.now = ends
    body = client.get(pages[page]).content.decode()

    assert "¥66.00" not in body and "badge-sale" not in body
    assert "¥100.00" in body


def test_back_to_back_discounts_each_show_in_their_own_period(client, variant, clock):
    url = variant.product.get_absolute_url()
    first_ends = clock.now + HOUR
    put_on_sale((variant, "90.00"), starts=clock.now - HOUR, ends=first_ends)
    put_on_sale((variant, "80.00"), starts=first_ends, ends=first_ends + HOUR)
    assert shown_price(client.get(url).content.decode()) == "¥90.00"

    clock.now = first_ends
    assert shown_price(client.get(url).content.decode()) == "¥80.00"
    clock.now = first_ends + HOUR
    assert shown_price(client.get(url).content.decode()) == "¥100.00"


def test_the_next_price_change_is_the_next_start_or_end_of_an_active_discount(variant):
    now = timezone.now()
    put_on_sale((variant, "50.00"), starts=now - HOUR, ends=now + 3 * HOUR)
    put_on_sale((variant, "40.00"), starts=now + 2 * HOUR, ends=now + 4 * HOUR)
    put_on_sale((variant, "30.00"), starts=now + HOUR, ends=now + 4 * HOUR, active=False)
    put_on_sale((variant, "20.00"), starts=now - 2 * HOUR, ends=now - HOUR)  # over

    # read at later moments: each one past the cached change reads again
    assert discounts.next_price_change(now) == now + 2 * HOUR
    assert discounts.next_price_change(now + 2 * HOUR) == now + 3 * HOUR
    assert discounts.next_price_change(now + 3 * HOUR) == now + 4 * HOUR
    assert discounts.next_price_change(now + 4 * HOUR) is None


def test_the_next_price_change_is_read_once_until_it_comes(
    variant, django_assert_num_queries, django_capture_on_commit_callbacks
):
    now = timezone.now()
    put_on_sale((variant, "50.00"), starts=now + HOUR, ends=now + 2 * HOUR)
    with django_assert_num_queries(1):
        assert discounts.next_price_change(now) == now + HOUR
    with django_assert_num_queries(0):
        assert discounts.next_price_change(now + timedelta(minutes=59)) == now + HOUR
    with django_assert_num_queries(1):
        assert discounts.next_price_change(now + HOUR) == now + 2 * HOUR
    # a catalog change (an edit of a discount moves the version) reads again
    with django_capture_on_commit_callbacks(execute=True):
        from catalog.cache import invalidate_everything

        invalidate_everything()
    with django_assert_num_queries(1):
        discounts.next_price_change(now + HOUR)


def test_cached_entries_live_no_longer_than_until_the_next_price_change(variant, settings):
    now = timezone.now()
    settings.CATALOG_CACHE_SECONDS = 600
    put_on_sale((variant, "50.00"), starts=now + timedelta(seconds=90.5), ends=now + HOUR)

    scope, timeout = cache_scope(now)

    assert timeout == 91
    assert cache_scope(now + timedelta(seconds=90.5))[0] != scope
    assert cache_scope(now + 2 * HOUR)[1] == 600  # nothing ahead: the usual timeout


def test_a_discount_saved_in_the_admin_shows_on_a_cached_page(
    client, admin_client, variant, django_capture_on_commit_callbacks
):
    url = variant.product.get_absolute_url()
    assert shown_price(client.get(url).content.decode()) == "¥100.00"  # cached

    with django_capture_on_commit_callbacks(execute=True):
        response = post_discount(
            admin_client,
            starts=timezone.now() - HOUR,
            ends=timezone.now() + HOUR,
            items=[(variant, "70.00")],
        )

    assert response.status_code == 302
    assert shown_price(client.get(url).content.decode()) == "¥70.00"


# --- The admin ----------------------------------------------------------------------


def post_discount(admin_client, *, starts, ends, items, url=None):
    def split(moment):
        local = timezone.localtime(moment)
        return local.strftime("%Y-%m-%d"), local.strftime("%H:%M:%S")

    data = {
        "name": "秒杀",
        "name_en": "",
        "starts_at_0": split(starts)[0],
        "starts_at_1": split(starts)[1],
        "ends_at_0": split(ends)[0],
        "ends_at_1": split(ends)[1],
        "is_active": "on",
        "items-TOTAL_FORMS": str(len(items)),
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
    }
    for n, (variant, price) in enumerate(items):
        data[f"items-{n}-variant"] = str(variant.pk)
        data[f"items-{n}-price"] = price
    return admin_client.post(url or reverse("admin:marketing_timeddiscount_add"), data)


def test_the_admin_refuses_an_end_before_the_start(admin_client, variant, english):
    now = timezone.now()
    response = post_discount(admin_client, starts=now, ends=now - HOUR, items=[(variant, "50")])

    assert response.status_code == 200
    assert "The discount must end after it starts." in response.content.decode()
    assert not TimedDiscount.objects.exists()


def test_the_admin_refuses_a_price_not_below_the_variants_on_its_row(
    admin_client, make_variant, english
):
    cheap, dear = make_variant(price="100.00"), make_variant(price="300.00")
    now = timezone.now()

    response = post_discount(
        admin_client, starts=now, ends=now + HOUR, items=[(dear, "250.00"), (cheap, "100.00")]
    )

    assert response.status_code == 200
    body = response.content.decode()
    # on the row of the variant at ¥100.00 only
    assert body.count("The discount price must be below the variant") == 1
    assert "The discount price must be below the variant&#x27;s price, ¥100.00." in body
    assert not TimedDiscount.objects.exists()


def test_the_discount_list_shows_status_period_and_variants_and_filters_by_status(
    admin_client, make_variant, english
):
    now = timezone.now()
    a, b = make_variant(), make_variant()
    running = put_on_sale((a, "50"), (b, "60"), starts=now - HOUR, ends=now + HOUR)
    running.name = "running sale"
    running.save()
    upcoming = put_on_sale((a, "50"), starts=now + HOUR, ends=now + 2 * HOUR)
    upcoming.name = "upcoming sale"
    upcoming.save()

    body = admin_client.get(reverse("admin:marketing_timeddiscount_changelist")).content.decode()
    row = next(row for row in re.findall(r"<tr.*?</tr>", body, re.S) if "running sale" in row)
    assert "Running" in row and '<td class="field-item_count">2</td>' in row
    assert timezone.localtime(running.ends_at).strftime("%Y-%m-%d %H:%M") in row
    filtered = admin_client.get(
        reverse("admin:marketing_timeddiscount_changelist"), {"status": "upcoming"}
    ).content.decode()
    assert "upcoming sale" in filtered and "running sale" not in filtered


def test_the_discount_list_exports_as_csv(admin_client, variant, english):
    now = timezone.now()
    put_on_sale((variant, "79.00"), starts=now - HOUR, ends=now + HOUR)
    columns = ("name", "status", "starts_at", "ends_at", "is_active", "item_count", "items")

    response = admin_client.post(
        reverse("admin:marketing_timeddiscount_export"),
        {"format": "0", "resource": "0", **{f"timeddiscountresource_{c}": "on" for c in columns}},
    )

    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[1].split(",")[:2] == ["限时折扣", "Running"]
    assert f"{variant.sku} 100.00 → 79.00" in lines[1]


# --- What an order is charged --------------------------------------------------------


def test_an_order_is_charged_the_sale_price_during_the_period_and_the_list_price_after(
    shopper, variant, address
):
    sale = put_on_sale((variant, "79.00"), starts=timezone.now() - HOUR, ends=timezone.now() + HOUR)
    during = services.place_order(shopper, [(variant.pk, 2)], address=address)

    sale.ends_at = timezone.now() - timedelta(seconds=1)
    sale.save()
    after = services.place_order(shopper, [(variant.pk, 2)], address=address)

    assert during.subtotal == D("158.00") and during.sale_discount == D("42.00")
    assert after.subtotal == D("200.00") and after.sale_discount == D("0.00")
    line = during.lines.get()
    assert (line.unit_price, line.paid_amount) == (D("100.00"), D("158.00"))
