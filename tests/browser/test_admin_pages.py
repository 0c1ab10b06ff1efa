"""Back-office pages staff work in all day, in a real browser at 1280 px."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from orders import aftersale, services
from tests.orders.aftersale_helpers import pay, place_paid

from .conftest import WIDTHS
from .test_admin_csp import signed_in_as_staff

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_after_sale_decision_panel_is_as_wide_as_the_request(
    open_page, shop_server, shopper, make_variant, address, default_plan, screenshot
):
    order = place_paid(shopper, [(make_variant(price="30.00"), 2)], address)
    request = aftersale.request_refund(
        order, user=shopper, kind="lines", reason="damaged", quantities={order.lines.get().pk: 1}
    )
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-123456-long")
    page = open_page(WIDTHS["desktop"])
    signed_in_as_staff(page, shop_server, boss)

    page.goto(reverse("admin:orders_aftersalerequest_change", args=[request.pk]))
    screenshot(page, "admin-aftersale-desktop")

    panel = page.locator("#decide-form").bounding_box()
    record = page.locator("#content-main").bounding_box()
    # The panel sits under the request, as wide as it: its text reads in lines,
    # not a character a line at the right edge.
    assert panel["width"] >= record["width"] - 2
    assert panel["y"] >= record["y"] + record["height"] - 2
    note = page.locator("#decide-form textarea").bounding_box()
    assert note["width"] >= 300
    approve = page.get_by_role("button", name="同意退款")
    reject = page.get_by_role("button", name="驳回")
    assert approve.is_visible() and reject.is_visible()
    # the buttons sit together under the note
    assert abs(approve.bounding_box()["y"] - reject.bounding_box()["y"]) < 2
    assert approve.bounding_box()["y"] > note["y"]


@pytest.mark.parametrize("width", [WIDTHS["desktop"], 820])
def test_the_dashboard_draws_its_charts_under_the_content_security_policy(
    open_page, shop_server, shopper, make_variant, address, chain, screenshot, width
):
    # given an order through carol's link paid a moment ago: today's live figures have
    # something to draw in every chart
    order = services.place_order(
        shopper,
        [(make_variant(price="1299.00").pk, 1)],
        address=address,
        referral_code=chain[2].invite_code,
    )
    pay(order)
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-123456-long")
    page = open_page(width)
    signed_in_as_staff(page, shop_server, boss)

    page.goto(reverse("admin:index") + "?period=today")
    page.wait_for_load_state("networkidle")
    screenshot(page, f"admin-dashboard-{width}")

    # ECharts ran (a violation of the policy would have failed open_page) and drew every
    # chart into its box; the paid sales card reads the order's total.
    for chart in ("trend", "funnel", "categories", "channels", "products", "distributors"):
        assert page.locator(f"#chart-{chart} canvas").count() == 1, chart
        assert page.locator(f"#chart-{chart}").bounding_box()["width"] > 200, chart
    assert "¥1,299.00" in page.locator("#content").inner_text()
    # the cards never run wider than the window
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_the_order_list_fits_1280_px_beside_the_menu_and_the_filters(
    open_page, shop_server, make_user, make_variant, address, chain, screenshot
):
    # given orders with a long username, a distributor and a status of five characters
    buyer = make_user("wangfang-customer-0001")
    order = services.place_order(
        buyer,
        [(make_variant(price="12999.00").pk, 1)],
        address=address,
        referral_code=chain[2].invite_code,
    )
    pay(order)
    boss = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-123456-long")
    page = open_page(WIDTHS["desktop"])
    signed_in_as_staff(page, shop_server, boss)

    page.goto(reverse("admin:orders_order_changelist"))
    screenshot(page, "admin-order-list-desktop")

    # then every column is in sight, nothing scrolls sideways, the amount reads as money
    results = page.locator("#changelist .results")
    assert results.evaluate("el => el.scrollWidth <= el.clientWidth")
    row = page.locator("#result_list tbody tr").first
    assert "¥12,999.00" in row.inner_text()
    placed, frame = row.locator("td.field-placed").bounding_box(), results.bounding_box()
    assert placed["x"] + placed["width"] <= frame["x"] + frame["width"]
