"""The merchant's campaign report: what each coupon and time-limited discount brought in."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from commissions.services import accrue_commissions
from marketing import coupons, reports
from marketing.models import Coupon, CouponClaim, TimedDiscount
from orders import aftersale, services
from orders.models import AfterSaleRequest, Order
from tests.orders.aftersale_helpers import pay

D = Decimal
REPORT = "admin:marketing_campaign_report"


@pytest.fixture
def seller(make_distributor):
    """bob, recruited by alice: his link's orders earn him 10% and alice 5%."""
    return make_distributor("bob", parent=make_distributor("alice"))


@pytest.fixture
def make_coupon(db):
    def make(name, **fields):
        now = timezone.now()
        return Coupon.objects.create(
            name=name,
            valid_from=now - timedelta(days=60),
            valid_until=now + timedelta(days=30),
            **fields,
        )

    return make


@pytest.fixture
def buy(make_user, address, seller):
    """buy("u1", [(variant, qty)], coupon): a paid order through bob's link, commissions accrued."""

    def buy(username, lines, coupon=None, *, paid=True):
        user = make_user(username)
        claim = coupons.claim(user, coupon) if coupon else None
        order = services.place_order(
            user,
            [(v.pk, q) for v, q in lines],
            address=address,
            referral_code=seller.invite_code,
            coupon=claim.pk if claim else None,
        )
        if paid:
            order = pay(order)
            accrue_commissions(order.pk)
        return order

    return buy


def refund(order, staff, kind=AfterSaleRequest.Kind.WHOLE_ORDER, quantities=None):
    request = aftersale.request_refund(
        order, user=order.user, kind=kind, reason="damaged", quantities=quantities
    )
    aftersale.approve(request, actor=staff)


@pytest.fixture
def campaigns(make_variant, make_coupon, buy, make_user, admin_user):
    """Two coupons and a flash sale, with orders: some refunded, one unpaid, one long ago."""
    tea, wine = make_variant(price="100.00", stock=50), make_variant(price="200.00", stock=50)
    flash = TimedDiscount.objects.create(
        name="秒杀",
        starts_at=timezone.now() - timedelta(days=50),
        ends_at=timezone.now() + timedelta(days=1),
    )
    flash.items.create(variant=wine, price=D("150.00"))
    amount_off = make_coupon(
        "满100减20", kind=Coupon.Kind.AMOUNT_OFF, amount=D("20.00"), threshold=D("100.00")
    )
    percent_off = make_coupon("九折", kind=Coupon.Kind.PERCENT_OFF, percent_off=D("10"))

    # 200.00 of tea less 20.00: 180.00 paid; bob earns 18.00, alice 9.00
    buy("u1", [(tea, 2)], amount_off)
    # claimed and used, but never paid: used, no order
    buy("u2", [(tea, 1)], amount_off, paid=False)
    coupons.claim(make_user("u3"), amount_off)  # claimed, not used
    # wine at 150.00 + tea 100.00, 10% off: wine pays 135.00, tea 90.00
    mixed = buy("u4", [(wine, 1), (tea, 1)], percent_off)
    refund(  # the tea comes back: commissions keep 135/225 of 22.50 and 11.25
        mixed,
        admin_user,
        AfterSaleRequest.Kind.LINES,
        {mixed.lines.get(variant=tea).pk: 1},
    )
    # two wines at the sale price, no coupon, then refunded in full
    refund(buy("u5", [(wine, 2)]), admin_user)
    # long ago: outside the last 30 days
    old = buy("u6", [(wine, 1)], percent_off)
    then = timezone.now() - timedelta(days=40)
    Order.objects.filter(pk=old.pk).update(paid_at=then)
    CouponClaim.objects.filter(order=old).update(claimed_at=then, used_at=then)
    return {"amount_off": amount_off, "percent_off": percent_off, "flash": flash, "old": old}


def figures_of(rows, campaign):
    return next(row.figures for row in rows if row.campaign.pk == campaign.pk)


def test_each_campaign_shows_what_it_brought_in_over_the_last_30_days(campaigns):
    report = reports.campaign_report(reports.Period.last_days())

    amount_off = figures_of(report.coupons, campaigns["amount_off"])
    assert (amount_off.claimed, amount_off.used, amount_off.orders) == (3, 2, 1)
    assert (amount_off.units, amount_off.goods, amount_off.discount) == (2, D("180.00"), D("20"))
    assert amount_off.commissions == D("27.00")
    percent_off = figures_of(report.coupons, campaigns["percent_off"])
    assert (percent_off.claimed, percent_off.used, percent_off.orders) == (1, 1, 1)
    assert (percent_off.units, percent_off.goods, percent_off.discount) == (2, D("225"), D("25"))
    assert percent_off.commissions == D("13.50") + D("6.75")  # after the tea's refund
    # the flash sale: one wine of the mixed order, two of the refunded one (commissions 0)
    flash = figures_of(report.discounts, campaigns["flash"])
    assert (flash.orders, flash.units, flash.goods) == (2, 3, D("135.00") + D("300.00"))
    assert (flash.discount, flash.commissions) == (D("150.00"), D("20.25"))
    assert report.coupon_totals.orders == 2
    assert report.coupon_totals.goods == D("405.00")
    assert report.coupon_totals.commissions == D("47.25")
    assert report.discount_totals == flash


def test_the_range_counts_orders_by_the_day_they_were_paid(campaigns):
    paid_then = timezone.localdate() - timedelta(days=40)

    report = reports.campaign_report(reports.Period(paid_then, paid_then))

    assert [row.campaign.name for row in report.coupons] == ["九折"]
    old = report.coupons[0].figures
    assert (old.claimed, old.used, old.orders, old.goods) == (1, 1, 1, D("135.00"))
    assert figures_of(report.discounts, campaigns["flash"]).units == 1
    nothing = reports.campaign_report(reports.Period(paid_then + timedelta(days=1), paid_then))
    assert nothing.coupons == [] and nothing.discount_totals.orders == 0


def test_a_discount_that_ran_earlier_counts_only_orders_placed_while_it_ran(
    make_variant, buy, campaigns
):
    ended = TimedDiscount.objects.create(
        name="早鸟",
        starts_at=timezone.now() - timedelta(days=20),
        ends_at=timezone.now() - timedelta(days=10),
    )
    ended.items.create(variant=campaigns["flash"].items.get().variant, price=D("120.00"))

    report = reports.campaign_report(reports.Period.last_days())

    assert figures_of(report.discounts, ended) == reports.Figures()  # ran, sold nothing
    assert figures_of(report.discounts, campaigns["flash"]).units == 3


def test_the_page_shows_the_figures_in_yuan_with_totals(client, admin_user, campaigns):
    client.force_login(admin_user)

    response = client.get(reverse(REPORT))

    assert response.status_code == 200
    page = response.content.decode()
    for text in ("满100减20", "九折", "秒杀", "¥180.00", "¥405.00", "¥435.00", "¥20.25"):
        assert text in page
    form = response.context["form"]
    today = timezone.localdate()
    assert (form["start"].value(), form["end"].value()) == (today - timedelta(days=29), today)


def test_a_wrong_range_is_refused_and_the_last_30_days_shown(client, admin_user, campaigns):
    client.force_login(admin_user)

    response = client.get(reverse(REPORT), {"start": "2026-03-10", "end": "2026-03-01"})

    assert response.context["form"].errors["end"]
    assert response.context["report"].period == reports.Period.last_days()


def test_only_staff_allowed_to_see_campaigns_read_the_report(client, make_user, campaigns):
    url = reverse(REPORT)
    assert client.get(url).status_code == 302  # to the admin's sign-in
    shopper = make_user("nosy")
    client.force_login(shopper)
    assert client.get(url).status_code == 302
    assert client.get(reverse("admin:marketing_campaign_report_csv")).status_code == 302

    shopper.is_staff = True
    shopper.save()
    assert client.get(url).status_code == 403
    shopper.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_coupon", "view_timeddiscount"])
    )
    assert client.get(url).status_code == 200


def test_the_csv_has_the_rows_of_the_page(client, admin_user, campaigns):
    client.force_login(admin_user)
    page = client.get(reverse(REPORT)).context["report"]

    response = client.get(reverse("admin:marketing_campaign_report_csv"))

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert len(header) == 10
    expected = [
        *((row.campaign.name, row.figures) for row in page.coupons),
        (None, page.coupon_totals),
        *((row.campaign.name, row.figures) for row in page.discounts),
        (None, page.discount_totals),
    ]
    assert len(rows) == len(expected)
    for cells, (name, figures) in zip(rows, expected, strict=True):
        assert name is None or cells[1] == name
        orders, units, goods, discount, commissions = cells[5:]
        assert (int(orders), int(units)) == (figures.orders, figures.units)
        assert [D(goods), D(discount), D(commissions)] == [
            figures.goods,
            figures.discount,
            figures.commissions,
        ]


def test_the_page_takes_the_same_queries_for_more_campaigns_and_orders(
    client, admin_user, make_variant, make_coupon, buy
):
    client.force_login(admin_user)
    wine = make_variant(price="200.00", stock=100)

    def add_campaign(n):
        sale = TimedDiscount.objects.create(
            name=f"sale{n}",
            starts_at=timezone.now() - timedelta(hours=1),
            ends_at=timezone.now() + timedelta(hours=1),
        )
        variant = make_variant(price="50.00", stock=20)
        sale.items.create(variant=variant, price=D("40.00"))
        coupon = make_coupon(f"coupon{n}", kind=Coupon.Kind.NO_THRESHOLD, amount=D("5.00"))
        for k in range(3):
            buy(f"buyer{n}-{k}", [(variant, 1), (wine, 1)], coupon)

    def queries():
        """Queries of the page, and of streaming the CSV, and how many coupons it shows."""
        with CaptureQueriesContext(connection) as page:
            response = client.get(reverse(REPORT))
        page_queries = len(page)  # read now: the next request resets the log
        csv_response = client.get(reverse("admin:marketing_campaign_report_csv"))
        with CaptureQueriesContext(connection) as streamed:
            b"".join(csv_response.streaming_content)
        return page_queries, len(streamed), len(response.context["report"].coupons)

    add_campaign(1)
    small = queries()
    for n in range(2, 5):
        add_campaign(n)
    large = queries()

    assert (small[2], large[2]) == (1, 4)
    assert small[:2] == large[:2]
    assert small == (6, 4, 1)  # session, user; coupons, discounts, their totals (2)


def test_the_report_is_linked_from_the_promotions_admin(client, admin_user):
    client.force_login(admin_user)
    link = reverse(REPORT)

    assert link in client.get(reverse("admin:app_list", args=["marketing"])).content.decode()
    assert link in client.get(reverse("admin:marketing_coupon_changelist")).content.decode()
