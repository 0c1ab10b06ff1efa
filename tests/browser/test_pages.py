"""The shopper's pages in a real browser, at phone and desktop widths, in both languages.

Each run leaves screenshots of home, category, product, cart and checkout
(`make screenshots`), and checks what a shopper would notice: the page does not
scroll sideways on a phone, prices read ¥…, the buying path works by clicking.
"""

import pytest
from django.urls import reverse

from .conftest import WIDTHS, overflow_px

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "pw-123456-long"


@pytest.fixture
def shop(make_variant, make_user, default_plan):
    variants = [make_variant(price=price) for price in ("1299.00", "168.00", "58.00", "899.00")]
    return {"variants": variants, "shopper": make_user("shopper", password=PASSWORD)}


def log_in(page, username):
    page.goto(reverse("accounts:login"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("main form [type=submit]").first.click()
    page.wait_for_load_state()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("device", list(WIDTHS))
def test_a_shopper_browses_buys_and_reaches_checkout(open_page, screenshot, shop, device, language):
    page = open_page(WIDTHS[device], language)
    prefix = "" if language == "zh-hans" else "/en"
    product = shop["variants"][0].product
    seen = {}

    def visit(name, url):
        response = page.goto(prefix + url)
        assert response.status == 200, f"{name}: HTTP {response.status}"
        seen[name] = overflow_px(page)
        screenshot(page, f"{name}-{device}-{language}")

    visit("home", "/")
    assert "¥1,299.00" in page.content()
    visit("category", product.category.get_absolute_url())
    visit("product", product.get_absolute_url())
    page.locator('form[action*="cart/add"] [type=submit]:not([disabled])').first.click()
    page.wait_for_load_state()
    visit("cart", reverse("orders:cart"))
    assert "¥1,299.00" in page.content()

    log_in(page, "shopper")
    visit("checkout", reverse("orders:checkout"))
    assert "¥1,299.00" in page.content()
    assert seen == dict.fromkeys(seen, 0), f"pages scroll sideways at {WIDTHS[device]}px: {seen}"
    expected = "结算" if language == "zh-hans" else "Check out"
    assert expected in page.title()
