"""Batch shipping from a CSV (批量发货) and packing slips (发货单) in the order admin."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from orders import batch_shipping, services
from orders.models import Order, Shipment

from .aftersale_helpers import place_paid, ship

pytestmark = pytest.mark.django_db
BATCH = reverse("admin:orders_order_batch_ship")


@pytest.fixture
def staff(admin_client, settings):
    settings.LANGUAGE_CODE = "en"
    return admin_client


@pytest.fixture
def paid_orders(shopper, variant, address):
    return [place_paid(shopper, [(variant, 1)], address) for _ in range(3)]


def upload(client, text: str, encoding="utf-8-sig"):
    file = SimpleUploadedFile("ship.csv", text.encode(encoding), content_type="text/csv")
    return client.post(BATCH, {"file": file})


def preview(response) -> dict[str, str]:
    """Order number -> "" (ready) or the row's error, as the preview shows them."""
    return {row.number: row.error for row in response.context["rows"]}


def test_the_preview_tells_each_row_what_stops_it(
    staff, paid_orders, shopper, variant, address, admin_user
):
    ready, shipped, twice = paid_orders
    ship(shipped, admin_user, carrier="中通", tracking_number="ZT1")
    unpaid = services.place_order(shopper, [(variant.pk, 1)], address=address)
    cancelled = services.place_order(shopper, [(variant.pk, 1)], address=address)
    services.cancel_order(cancelled)
    csv_text = "\n".join(
        [
            "订单号,快递公司,运单号",
            f"{ready.number},顺丰,SF100",
            f"{shipped.number},中通,ZT2",
            f"{unpaid.number},圆通,YT1",
            f"{cancelled.number},圆通,YT2",
            "20990101000000000,圆通,YT3",
            f"{twice.number},乌龟快递,W1",
            f"{twice.number},韵达,YD1",
            "2.02512E+17,韵达,YD2",
        ]
    )

    response = upload(staff, csv_text)

    rows = preview(response)
    assert rows[ready.number] == ""
    assert "<td>SF Express</td>" in response.text  # 顺丰 read as the carrier it names
    assert "<td>乌龟快递</td>" in response.text  # an unknown one as typed
    assert rows[shipped.number].startswith("Already shipped (ZTO Express ZT1)")
    assert rows[unpaid.number] == "Not paid yet."
    assert "Cancelled" in rows[cancelled.number]
    assert rows["20990101000000000"] == "No order has this number."
    assert "not a carrier" in response.context["rows"][5].error
    assert response.context["rows"][6].error == "This order is listed twice in the file."
    assert "Excel" in rows["2.02512E+17"]
    assert not Shipment.objects.filter(order=ready).exists()  # nothing ships before confirming


def test_confirming_ships_the_valid_rows(staff, paid_orders):
    first, second, _third = paid_orders
    response = upload(staff, f"{first.number},SF,SF200\n{second.number},jd,JD300\n")
    form = {"confirm": "1", "line": [], "number": [], "carrier": [], "tracking": []}
    for row in response.context["valid_rows"]:
        form["line"].append(row.line)
        form["number"].append(row.number)
        form["carrier"].append(row.carrier)
        form["tracking"].append(row.tracking_number)

    done = staff.post(BATCH, form)

    assert done.status_code == 302
    assert [str(m) for m in get_messages(done.wsgi_request)] == ["2 order(s) shipped."]
    assert Shipment.objects.get(order=first).carrier == "shunfeng"
    assert Order.objects.get(pk=second.pk).tracking_number == "JD300"


def test_a_row_shipped_meanwhile_is_refused_at_confirm_not_shipped_twice(
    staff, paid_orders, admin_user
):
    order = paid_orders[0]
    staff.post(
        BATCH,
        {
            "confirm": "1",
            "line": "2",
            "number": order.number,
            "carrier": "yunda",
            "tracking": "YD1",
        },
    )
    again = staff.post(
        BATCH,
        {
            "confirm": "1",
            "line": "2",
            "number": order.number,
            "carrier": "yunda",
            "tracking": "YD9",
        },
    )
    assert "Already shipped" in " ".join(str(m) for m in get_messages(again.wsgi_request))
    assert Shipment.objects.get(order=order).tracking_number == "YD1"


def test_a_row_that_went_stale_after_its_check_is_refused_under_the_orders_lock(
    paid_orders, admin_user
):
    # given a row checked as ready
    order = paid_orders[0]
    rows = batch_shipping.check_rows([batch_shipping.Row(2, order.number, "韵达", "YD1")])
    assert rows[0].is_valid
    # when the order is shipped in another tab before the rows are shipped
    ship(order, admin_user, carrier="中通", tracking_number="ZT1")

    shipped, refused = batch_shipping.ship_rows(rows, actor=admin_user)

    # then ship_order refuses it, with its reason, and the first shipment stands
    assert shipped == [] and refused == rows
    assert order.number in refused[0].error
    assert Shipment.objects.get(order=order).tracking_number == "ZT1"


@pytest.mark.parametrize("count", [1, 3])
def test_checking_the_rows_costs_one_query_whatever_their_number(
    paid_orders, count, django_assert_num_queries
):
    rows = [
        batch_shipping.Row(line, order.number, "顺丰", f"SF{line}")
        for line, order in enumerate(paid_orders[:count], start=2)
    ]
    with django_assert_num_queries(1):
        checked = batch_shipping.check_rows(rows)
    assert [row.error for row in checked] == [""] * count


def test_a_parcel_listed_twice_in_the_file_is_refused_the_second_time(paid_orders):
    first, second, _third = paid_orders
    with translation.override("en"):
        rows = batch_shipping.check_rows(
            [
                batch_shipping.Row(2, first.number, "顺丰", "SF1"),
                batch_shipping.Row(3, second.number, "SF", "SF1"),
            ]
        )
    assert [row.error for row in rows] == ["", "This tracking number is listed twice in the file."]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_excel_and_wps_files_are_read_in_any_of_their_encodings(encoding, paid_orders):
    order = paid_orders[0]
    text = f"订单号,快递公司,运单号\r\n{order.number},韵达快递,YD777\r\n"
    rows = batch_shipping.check_rows(batch_shipping.read_rows(text.encode(encoding)))
    assert [(r.number, r.carrier, r.tracking_number, r.error) for r in rows] == [
        (order.number, "yunda", "YD777", "")
    ]


def test_a_file_that_is_not_text_is_refused_on_the_form(staff):
    file = SimpleUploadedFile("ship.xlsx", b"PK\x03\x04\xff\xfe\x00\x81", content_type="text/csv")
    response = staff.post(BATCH, {"file": file})
    assert "neither UTF-8 nor GBK" in str(response.context["form"].errors["file"])


def test_the_template_opens_in_excel_with_the_header(staff):
    response = staff.get(reverse("admin:orders_order_batch_ship_template"))
    assert response.content.startswith("\ufeff".encode())
    assert response.content.decode("utf-8-sig").splitlines()[0] == (
        "Order number,Carrier,Tracking number"
    )


def test_the_order_list_links_to_batch_shipping(staff):
    assert BATCH in staff.get(reverse("admin:orders_order_changelist")).text


def test_a_packing_slip_shows_what_goes_in_the_parcel(staff, paid_orders):
    order = paid_orders[0]
    line = order.lines.get()

    page = staff.get(reverse("admin:orders_order_packing_slip", args=[order.pk])).text

    for shown in (order.number, order.recipient_name, "13800138000", order.shipping_address):
        assert shown in page
    assert line.sku in page and "<script>" not in page  # CSP: scripts from files only


def test_packing_slips_of_a_selection_print_one_per_order(staff, paid_orders):
    response = staff.post(
        reverse("admin:orders_order_changelist"),
        {"action": "print_packing_slips", "_selected_action": [o.pk for o in paid_orders]},
    )
    assert response.status_code == 200
    assert response.text.count('class="slip"') == 3


def test_staff_without_the_change_permission_see_no_shipping_pages(client, make_user, paid_orders):
    viewer = make_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(viewer)
    assert client.get(BATCH).status_code == 403
    slip = reverse("admin:orders_order_packing_slip", args=[paid_orders[0].pk])
    assert client.get(slip).status_code == 403


def test_the_ship_form_offers_the_carriers_in_a_select(staff, paid_orders, settings):
    settings.DEMO_SITE = False  # a real shop: no sandbox carrier
    page = staff.get(reverse("admin:orders_order_ship", args=[paid_orders[0].pk])).text
    assert '<select name="carrier"' in page and "SF Express" in page
    assert 'value="sandbox"' not in page
