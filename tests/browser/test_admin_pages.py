"""Back-office pages staff work in all day, in a real browser at 1280 px."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from orders import aftersale
from tests.orders.aftersale_helpers import place_paid

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
