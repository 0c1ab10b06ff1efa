"""The shopper's order list and order page: what they show, their query counts, ownership."""

from datetime import timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from catalog.models import ProductImage
from orders import aftersale, services
from orders.models import AfterSaleRequest, Order, OrderLine, ShippingSettings, TrackingEvent

from .aftersale_helpers import place_paid, ship

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, shopper, settings):
    settings.LANGUAGE_CODE = "en"
    client.force_login(shopper)
    return client


@pytest.fixture
def png(settings, tmp_path):
    """An uploadable PNG; it and its thumbnails land in a throwaway folder."""
    settings.MEDIA_ROOT = tmp_path / "media"

    def make(name="bottle.png"):
        buffer = BytesIO()
        Image.new("RGB", (600, 600), (155, 28, 28)).save(buffer, "PNG")
        return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")

    return make


def bulk_orders(user, variant, count):
    orders = Order.objects.bulk_create(
        Order(
            number=f"2026010100{i:08d}",
            user=user,
            subtotal=Decimal("100.00"),
            shipping_fee=Decimal("0.00"),
            total=Decimal("100.00"),
            recipient_name="张三",
            recipient_phone="13800138000",
            shipping_address="上海",
        )
        for i in range(count)
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            variant=variant,
            product_name=f"Tea {n}",
            variant_name="250g",
            sku=variant.sku,
            unit_price=Decimal("50.00"),
            quantity=1,
            line_total=Decimal("50.00"),
            paid_amount=Decimal("50.00"),
        )
        for order in orders
        for n in range(2)
    )
    return orders


LIST_QUERIES = 8  # session, user, count, the page, its lines with their pictures,
# the unpaid-order timeout (for the countdown), the tabs' counts, the header's unread counts


@pytest.mark.parametrize("count", [1, 30])
def test_the_order_list_costs_the_same_for_1_or_30_orders(
    logged_in, shopper, variant, count, django_assert_num_queries, png
):
    ProductImage.objects.create(product=variant.product, image=png())
    ShippingSettings.get_solo()
    bulk_orders(shopper, variant, count)
    with django_assert_num_queries(LIST_QUERIES):
        response = logged_in.get(reverse("orders:list"))
    assert response.status_code == 200
    assert "Tea 0" in response.text and "and 1 more item" in response.text
    assert len(response.context["page"].object_list) == min(count, 20)
    # every order shows its products' pictures
    assert response.text.count('alt="Tea 1"') == min(count, 20)


def test_the_order_list_shows_only_my_orders(logged_in, make_user, variant):
    bulk_orders(make_user("someone"), variant, 1)
    assert "You have no orders yet" in logged_in.get(reverse("orders:list")).text


DETAIL_QUERIES = 11  # session, user, order+shipment, lines, events, requests,
# their lines, those lines' order lines, payments, tracking events, the header's unread counts


@pytest.mark.parametrize("lines", [1, 5])
def test_the_order_page_costs_the_same_for_1_or_5_lines_with_tracking(
    logged_in, shopper, make_variant, address, admin_user, lines, django_assert_num_queries
):
    order = place_paid(shopper, [(make_variant(), 1) for _ in range(lines)], address)
    order = ship(order, admin_user, days_ago=2)
    services.poll_tracking()
    refund = aftersale.request_refund(
        order, user=shopper, kind="lines", reason="damaged", quantities={order.lines.first().pk: 1}
    )
    aftersale.approve(refund, actor=admin_user, note="sorry")

    with django_assert_num_queries(DETAIL_QUERIES):
        response = logged_in.get(order.get_absolute_url())

    assert response.status_code == 200
    assert "已签收" in response.text and order.shipment.tracking_number in response.text
    assert TrackingEvent.objects.count() == 5
    assert "sorry" in response.text and "Refunded" in response.text


def test_another_shoppers_order_is_404_on_every_order_url(
    client, make_user, shopper, variant, address
):
    order = services.place_order(shopper, [(variant.pk, 1)], address=address)
    client.force_login(make_user("mallory"))
    for name in ("detail", "cancel", "receive", "refund"):
        method = client.get if name == "detail" else client.post
        assert method(reverse(f"orders:{name}", args=[order.number])).status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT


def test_the_shopper_confirms_receipt_from_the_order_page(
    logged_in, shopper, variant, address, admin_user
):
    order = ship(place_paid(shopper, [(variant, 1)], address), admin_user)
    assert "Confirm receipt" in logged_in.get(order.get_absolute_url()).text

    response = logged_in.post(reverse("orders:receive", args=[order.number]), follow=True)

    assert "Receipt confirmed." in response.text  # the message
    assert '<span class="timeline-status">Receipt confirmed</span>' in response.text
    assert "Confirm receipt</button>" not in response.text  # only once
    order.refresh_from_db()
    assert order.received_at and order.status == Order.Status.DELIVERED


def test_the_shopper_asks_for_a_refund_of_some_items(logged_in, shopper, make_variant, address):
    order = place_paid(shopper, [(make_variant(price="30.00"), 2)], address)
    line = order.lines.get()
    page = logged_in.get(order.get_absolute_url())
    assert "Ask for a refund" in page.text

    response = logged_in.post(
        reverse("orders:refund", args=[order.number]),
        {"kind": "lines", "reason": "damaged", "reason_text": "cracked", f"qty_{line.pk}": "1"},
        follow=True,
    )

    request = AfterSaleRequest.objects.get()
    assert (request.amount, request.status) == (Decimal("30.00"), "requested")
    assert "Your refund request was sent" in response.text
    assert "Ask for a refund" not in response.text  # one open request at a time


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("3", "at most 2"),
        ("-1", "cannot be negative"),
        ("abc", "whole number"),
        ("0", "at least one item"),
    ],
)
def test_bad_refund_input_is_refused_with_a_message(
    logged_in, shopper, make_variant, address, quantity, message
):
    order = place_paid(shopper, [(make_variant(price="30.00"), 2)], address)
    line = order.lines.get()
    response = logged_in.post(
        reverse("orders:refund", args=[order.number]),
        {"kind": "lines", "reason": "damaged", f"qty_{line.pk}": quantity},
    )
    assert message in response.text
    assert not AfterSaleRequest.objects.exists()


def test_a_refund_after_the_window_is_refused(logged_in, shopper, variant, address, admin_user):
    order = ship(place_paid(shopper, [(variant, 1)], address), admin_user)
    services.confirm_receipt(order, actor=shopper)
    Order.objects.filter(pk=order.pk).update(received_at=timezone.now() - timedelta(days=30))
    assert "Ask for a refund" not in logged_in.get(order.get_absolute_url()).text

    response = logged_in.post(
        reverse("orders:refund", args=[order.number]),
        {"kind": "whole", "reason": "damaged"},
        follow=True,
    )
    assert "can no longer be refunded" in response.text
    assert not AfterSaleRequest.objects.exists()


def tab_numbers(client, tab=None):
    response = client.get(reverse("orders:list"), {"tab": tab} if tab else {})
    assert response.status_code == 200
    return [order.number for order in response.context["page"].object_list], response


def test_the_status_tabs_sort_the_orders_the_way_a_shopper_expects(
    logged_in, shopper, make_variant, address, admin_user
):
    unpaid = services.place_order(shopper, [(make_variant().pk, 1)], address=address)
    paid = place_paid(shopper, [(make_variant(), 1)], address)
    shipped = ship(place_paid(shopper, [(make_variant(), 1)], address), admin_user)
    received = ship(place_paid(shopper, [(make_variant(), 1)], address), admin_user)
    services.confirm_receipt(received, actor=shopper)
    asking = ship(place_paid(shopper, [(make_variant(), 1)], address), admin_user)
    aftersale.request_refund(asking, user=shopper, kind="whole", reason="damaged")

    assert tab_numbers(logged_in, "pending_payment")[0] == [unpaid.number]
    assert tab_numbers(logged_in, "to_ship")[0] == [paid.number]
    # the one asking for a refund is still on its way too
    assert tab_numbers(logged_in, "to_receive")[0] == [asking.number, shipped.number]
    assert tab_numbers(logged_in, "after_sale")[0] == [asking.number]
    everything, response = tab_numbers(logged_in)
    assert len(everything) == 5
    counts = {tab["value"]: tab["count"] for tab in response.context["tabs"]}
    assert counts == {
        "all": 5,
        "pending_payment": 1,
        "to_ship": 1,
        "to_receive": 2,
        "after_sale": 1,
    }


def test_an_unknown_tab_shows_every_order(logged_in, shopper, variant):
    bulk_orders(shopper, variant, 2)

    numbers, response = tab_numbers(logged_in, "<script>")

    assert len(numbers) == 2
    assert response.context["tab"] == "all"


def test_an_unpaid_order_shows_when_it_is_cancelled_and_counts_down_to_it(
    logged_in, shopper, variant, address
):
    rules = ShippingSettings.get_solo()
    rules.unpaid_timeout_minutes = 30
    rules.save()
    order = services.place_order(shopper, [(variant.pk, 1)], address=address)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    order.refresh_from_db()
    deadline = timezone.localtime(order.created_at + timedelta(minutes=30))

    for url in (reverse("orders:list"), order.get_absolute_url()):
        text = logged_in.get(url).text
        # without JavaScript: the time; with it, countdown.js counts the seconds left
        assert f"Please pay by {deadline:%Y-%m-%d %H:%M}" in text
        seconds = int(text.split('data-countdown="', 1)[1].split('"', 1)[0])
        assert 19 * 60 < seconds <= 20 * 60
        assert "js/countdown.js" in text


def test_an_unpaid_order_past_its_deadline_is_no_longer_offered_for_payment(
    logged_in, shopper, variant, address
):
    rules = ShippingSettings.get_solo()
    rules.unpaid_timeout_minutes = 30
    rules.save()
    order = services.place_order(shopper, [(variant.pk, 1)], address=address)
    pay_url = reverse("payments_pages:start", args=[order.number])
    assert pay_url in logged_in.get(reverse("orders:list")).text

    # the cancel task has not run yet, but the shopper's time is up
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(minutes=31))

    for url in (reverse("orders:list"), order.get_absolute_url()):
        assert pay_url not in logged_in.get(url).text


def test_a_paid_order_has_no_countdown(logged_in, shopper, variant, address):
    order = place_paid(shopper, [(variant, 1)], address)

    for url in (reverse("orders:list"), order.get_absolute_url()):
        assert "data-countdown=" not in logged_in.get(url).text
