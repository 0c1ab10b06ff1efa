"""The back office's reports (报表): each report's figures on a small shop, its filters,
who may read it, and what a page costs."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from catalog import inventory
from catalog.models import Category, Product, StockMovement
from commissions.models import Withdrawal
from commissions.services import accrue_commissions
from distributors.models import Distributor, Grade
from orders import aftersale
from orders import services as order_services
from orders.models import AfterSaleRequest, Order
from reports import definitions, summaries
from reports.definitions import Filters
from tests.orders.aftersale_helpers import pay

pytestmark = pytest.mark.django_db

D = Decimal


def report_url(slug):
    return reverse("admin:report", args=[slug])


@pytest.fixture
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def buy(make_user, address):
    """buy("u1", [(variant, 2)], via=bob): a paid order, its commissions accrued."""

    def buy(username, lines, *, via=None):
        order = order_services.place_order(
            make_user(username),
            [(variant.pk, quantity) for variant, quantity in lines],
            address=address,
            referral_code=via.invite_code if via else "",
        )
        order = pay(order)
        accrue_commissions(order.pk)
        return order

    return buy


def refund(order, staff, reason=AfterSaleRequest.Reason.DAMAGED):
    request = aftersale.request_refund(
        order, user=order.user, kind=AfterSaleRequest.Kind.WHOLE_ORDER, reason=reason
    )
    return aftersale.approve(request, actor=staff)


def withdrawal(distributor, amount, *, status=Withdrawal.Status.REQUESTED, reviewer=None, **extra):
    """A withdrawal record as the service leaves it (the report only reads them)."""
    amount = D(amount)
    fee = (amount * D("0.01")).quantize(D("0.01"))
    reviewed = status != Withdrawal.Status.REQUESTED
    return Withdrawal.objects.create(
        distributor=distributor,
        amount=amount,
        fee=fee,
        net_amount=amount - fee,
        method=extra.pop("method", "bank_card"),
        account_name="陈小红",
        account_number=extra.pop("account_number", "6222020200112233445"),
        status=status,
        reviewer=reviewer if reviewed else None,
        reviewed_at=timezone.now() if reviewed else None,
        **extra,
    )


@pytest.fixture
def shop(category, make_variant, make_distributor, buy, admin_user):
    """Today: bob (recruited by alice, silver) sold two 茅台 (600.00); alice sold an
    二锅头 and a red wine (250.00), refunded for damage; a shopper bought a red wine
    directly (200.00) and asked for a refund that was rejected. 白酒 has 酱香型 below it;
    葡萄酒 is a top-level category of its own."""
    alice = make_distributor("alice")
    bob = make_distributor("bob", parent=alice)
    Distributor.objects.filter(pk=bob.pk).update(grade=Grade.objects.get(rank=1))
    sauce = Category.objects.create(
        name="酱香型", name_en="Sauce aroma", slug="sauce", parent=category
    )
    wines = Category.objects.create(name="葡萄酒", name_en="Wine", slug="wine")
    maotai = make_variant(price="300.00", stock=50)
    erguotou = make_variant(price="50.00", stock=50)
    red = make_variant(price="200.00", stock=50)
    Product.objects.filter(pk=maotai.product_id).update(name="茅台", category=sauce)
    Product.objects.filter(pk=erguotou.product_id).update(name="二锅头")
    Product.objects.filter(pk=red.product_id).update(name="红酒", category=wines)

    buy("u1", [(maotai, 2)], via=bob)  # bob 10% = 60.00, alice 5% = 30.00
    mixed = buy("u2", [(erguotou, 1), (red, 1)], via=alice)  # alice 10% = 25.00
    refund(mixed, admin_user)  # alice's 25.00 reversed; the goods back in stock
    direct = buy("u3", [(red, 1)])
    rejected = aftersale.request_refund(
        direct,
        user=direct.user,
        kind=AfterSaleRequest.Kind.WHOLE_ORDER,
        reason=AfterSaleRequest.Reason.NOT_AS_DESCRIBED,
    )
    aftersale.reject(rejected, actor=admin_user, note="opened")

    withdrawal(bob, "50.00", status=Withdrawal.Status.PAID, reviewer=admin_user)
    withdrawal(alice, "20.00", method="alipay", account_number="13800138000")
    summaries.rebuild_day(timezone.localdate())
    return {
        "alice": alice,
        "bob": bob,
        "maotai": maotai,
        "erguotou": erguotou,
        "red": red,
        "baijiu": category,
        "sauce": sauce,
        "mixed": mixed,
        "direct": direct,
    }


def rows_of(slug, **options):
    filters = Filters.last_days()
    filters = Filters(filters.start, filters.end, options)
    return list(definitions.get(slug).rows(filters))


def totals_of(slug, **options):
    filters = Filters.last_days()
    return definitions.get(slug).totals(Filters(filters.start, filters.end, options))


# --- the figures ------------------------------------------------------------------------


def test_sales_by_day_shows_the_days_summaries(shop):
    today = timezone.localdate()

    assert rows_of("sales-by-day") == [
        # paid orders, customers, new customers, paid sales, refunded, accrued, reversed
        (today, 3, 3, 3, D("1050.00"), D("250.00"), D("115.00"), D("25.00"))
    ]
    total = totals_of("sales-by-day")
    assert total[1:] == (3, 3, 3, D("1050.00"), D("250.00"), D("115.00"), D("25.00"))


def test_a_customer_who_paid_on_two_days_is_one_customer_in_the_total(shop, buy):
    then = timezone.now() - timedelta(days=3)
    earlier = buy("u4", [(shop["erguotou"], 4)])
    Order.objects.filter(pk=earlier.pk).update(paid_at=then)
    again = buy("u5", [(shop["erguotou"], 1)])
    Order.objects.filter(pk=again.pk).update(user=earlier.user)  # u4 again, today
    summaries.rebuild_day(timezone.localdate(then))
    summaries.rebuild_day(timezone.localdate())

    rows = rows_of("sales-by-day")
    total = totals_of("sales-by-day")

    assert [row[2] for row in rows] == [1, 4]  # paying customers of each day
    assert total[1] == 5 and total[2] == 4  # five orders, four customers


def test_sales_by_product_adds_up_each_product_over_the_days_best_first(shop, buy):
    earlier = buy("u9", [(shop["maotai"], 1)])
    three_days_ago = timezone.now() - timedelta(days=3)
    Order.objects.filter(pk=earlier.pk).update(paid_at=three_days_ago)
    summaries.rebuild_day(timezone.localdate(three_days_ago))

    assert rows_of("sales-by-product") == [
        ("茅台", "酱香型", 2, 3, D("900.00")),
        ("红酒", "葡萄酒", 2, 2, D("400.00")),
        ("二锅头", "白酒", 1, 1, D("50.00")),
    ]
    assert totals_of("sales-by-product")[2:] == (5, 6, D("1350.00"))


def test_sales_by_product_in_a_category_counts_its_subcategories(shop):
    rows = rows_of("sales-by-product", category=shop["baijiu"])

    assert [row[0] for row in rows] == ["茅台", "二锅头"]
    assert totals_of("sales-by-product", category=shop["baijiu"])[4] == D("650.00")


def test_sales_by_category_rolls_subcategories_up_to_the_top_level_when_asked(shop):
    assert rows_of("sales-by-category") == [
        ("白酒 › 酱香型", 1, 2, D("600.00")),
        ("葡萄酒", 1, 2, D("400.00")),
        ("白酒", 1, 1, D("50.00")),
    ]
    assert rows_of("sales-by-category", rollup=True) == [
        ("白酒", 2, 3, D("650.00")),
        ("葡萄酒", 1, 2, D("400.00")),
    ]
    assert totals_of("sales-by-category", rollup=True)[1:] == (3, 5, D("1050.00"))


def test_sales_by_distributor_and_by_grade(shop):
    alice, bob = shop["alice"], shop["bob"]

    assert rows_of("sales-by-distributor") == [
        ("bob", bob.invite_code, "银牌", 1, D("600.00"), D("60.00")),
        ("alice", alice.invite_code, "普通", 1, D("250.00"), D("55.00")),
    ]
    silver = Grade.objects.get(rank=1)
    assert [row[0] for row in rows_of("sales-by-distributor", grade=silver)] == ["bob"]
    assert [row[0] for row in rows_of("sales-by-distributor", distributor=alice)] == ["alice"]
    assert rows_of("sales-by-grade") == [
        ("普通", 1, 1, D("250.00"), D("55.00")),
        ("银牌", 1, 1, D("600.00"), D("60.00")),
    ]
    assert totals_of("sales-by-grade")[1:] == (2, 2, D("850.00"), D("115.00"))


def test_commissions_by_distributor_and_level_show_what_refunds_reversed(shop):
    alice, bob = shop["alice"], shop["bob"]

    assert rows_of("commissions") == [
        ("alice", alice.invite_code, 1, 1, D("25.00"), D("25.00"), D("0.00")),
        ("alice", alice.invite_code, 2, 1, D("30.00"), D("0.00"), D("30.00")),
        ("bob", bob.invite_code, 1, 1, D("60.00"), D("0.00"), D("60.00")),
    ]
    assert [row[0] for row in rows_of("commissions", level=1)] == ["alice", "bob"]
    assert totals_of("commissions")[3:] == (3, D("115.00"), D("25.00"), D("90.00"))


def test_withdrawals_list_each_request_with_the_account_masked(shop, client, admin_user):
    rows = rows_of("withdrawals")

    assert [(row[2], row[3], row[4], row[5], row[7]) for row in rows] == [
        ("bob", D("50.00"), D("0.50"), D("49.50"), "•••• 3445"),
        ("alice", D("20.00"), D("0.20"), D("19.80"), "•••• 8000"),
    ]
    assert rows[0][9] is not None and rows[1][9] is None  # reviewed, not yet
    assert [row[2] for row in rows_of("withdrawals", status="requested")] == ["alice"]
    client.force_login(admin_user)
    page = client.get(report_url("withdrawals")).content.decode()
    assert "6222020200112233445" not in page and "•••• 3445" in page


@pytest.mark.usefixtures("english")
def test_refunds_by_reason_and_each_request(shop):
    assert rows_of("refunds") == [
        ("Damaged or defective", 1, D("250.00"), 1, D("250.00")),
        ("Not as described", 1, D("200.00"), 0, D("0.00")),
    ]
    each = rows_of("refunds", mode="requests")
    assert [(row[1], row[5]) for row in each] == [
        (shop["mixed"].number, D("250.00")),
        (shop["direct"].number, D("200.00")),
    ]
    assert totals_of("refunds")[1:] == (2, D("450.00"), 1, D("250.00"))
    assert [row[1] for row in rows_of("refunds", mode="requests", status="rejected")] == [
        shop["direct"].number
    ]


def test_stock_movements_filter_by_kind_and_sku(shop, admin_user):
    maotai, red = shop["maotai"], shop["red"]
    inventory.adjust(red, -1, actor=admin_user, reason="broken in the store")

    sold_maotai = rows_of("stock-movements", kind=StockMovement.Kind.SOLD, sku=maotai.sku)
    red_rows = rows_of("stock-movements", sku=red.sku)

    assert [(row[1], row[4], row[5]) for row in sold_maotai] == [(maotai.sku, -2, 48)]
    # opening stock, two sold, one returned by the refund, one broken: oldest first
    assert [row[4] for row in red_rows] == [50, -1, 1, -1, -1]
    assert red_rows[-1][8] == admin_user.username and red_rows[0][8]
    assert totals_of("stock-movements", sku=red.sku)[4] == 48


@pytest.mark.usefixtures("english")
def test_each_reports_totals_line_has_a_cell_per_column(shop):
    expected = {
        "sales-by-day": ("Total", 3, 3, 3, D("1050.00"), D("250.00"), D("115.00"), D("25.00")),
        "sales-by-product": ("Total: 3 products", None, 4, 5, D("1050.00")),
        "sales-by-category": ("Total", 3, 5, D("1050.00")),
        "sales-by-distributor": ("Total: 2 distributors", None, None, 2, D("850.00"), D("115.00")),
        "sales-by-grade": ("Total", 2, 2, D("850.00"), D("115.00")),
        "commissions": (
            "Total: 2 distributors",
            None,
            None,
            3,
            D("115.00"),
            D("25.00"),
            D("90.00"),
        ),
        "withdrawals": (
            "Total: 2 withdrawals",
            None,
            None,
            D("70.00"),
            D("0.70"),
            D("69.30"),
            *[None] * 4,
        ),
        "refunds": ("Total", 2, D("450.00"), 1, D("250.00")),
        "stock-movements": ("Total: 9 movements", *[None] * 3, 147, *[None] * 4),
    }

    for slug, line in expected.items():
        report = definitions.get(slug)
        assert totals_of(slug) == line, slug
        assert len(line) == len(report.columns), slug
    each = totals_of("refunds", mode="requests")
    assert each == ("Total: 2 requests", *[None] * 4, D("450.00"), None, None)
    assert len(each) == len(definitions.get("refunds").detail_columns)


# --- the pages ------------------------------------------------------------------------


def test_the_index_lists_the_reports_with_a_line_each(client, admin_user):
    client.force_login(admin_user)

    page = client.get(reverse("admin:reports_index")).content.decode()

    for report in definitions.REPORTS.values():
        assert report_url(report.slug) in page
    assert reverse("admin:reports_exportjob_changelist") in page


def test_a_report_page_shows_money_in_yuan_with_a_totals_row(client, admin_user, shop):
    client.force_login(admin_user)

    response = client.get(report_url("sales-by-product"))

    assert response.status_code == 200
    page = response.content.decode()
    for text in ("茅台", "¥600.00", "¥400.00", "¥1,050.00", "<tfoot>"):
        assert text in page
    form = response.context["form"]
    today = timezone.localdate()
    assert (form["start"].value(), form["end"].value()) == (
        (today - timedelta(days=29)).isoformat(),
        today.isoformat(),
    )


def test_a_long_report_is_paginated_by_fifty(client, admin_user, variant):
    for _ in range(60):
        inventory.receive(variant, 1, actor=admin_user)
    client.force_login(admin_user)

    first = client.get(report_url("stock-movements"))
    second = client.get(report_url("stock-movements"), {"page": 2})

    assert len(first.context["rows"]) == 50 and first.context["page"].paginator.count == 61
    assert len(second.context["rows"]) == 11
    assert "page=2" in first.content.decode()


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        ("2026-03-10", "2026-03-01", "end", "The last day cannot come before the first."),
        ("2026-02-30", "2026-03-01", "start", "Enter a valid date."),
        ("yesterday", "", "start", "Enter a valid date."),
    ],
)
def test_a_wrong_range_is_told_on_the_form_and_the_last_30_days_shown(
    client, admin_user, shop, start, end, field, message
):
    client.force_login(admin_user)

    response = client.get(report_url("sales-by-product"), {"start": start, "end": end})

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert message in response.content.decode()
    default = Filters.last_days()
    shown = response.context["filters"]
    assert (shown.start, shown.end) == (default.start, default.end)
    assert len(response.context["rows"]) == 3
    assert response.context["export_fields"] == []  # nothing to export while it is wrong


def test_each_report_needs_its_own_permission(client, make_user):
    staff = make_user("clerk", is_staff=True)
    client.force_login(staff)

    for slug in definitions.REPORTS:
        assert client.get(report_url(slug)).status_code == 403, slug
        assert client.post(reverse("admin:report_export", args=[slug])).status_code == 403

    staff.user_permissions.add(Permission.objects.get(codename="view_order"))
    readable = {
        slug for slug in definitions.REPORTS if client.get(report_url(slug)).status_code == 200
    }
    assert readable == {
        "sales-by-day",
        "sales-by-product",
        "sales-by-category",
        "sales-by-distributor",
        "sales-by-grade",
    }
    index = client.get(reverse("admin:reports_index")).content.decode()
    assert report_url("sales-by-day") in index and report_url("commissions") not in index

    staff.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_commission", "view_withdrawal", "view_stockmovement"]
        )
    )
    for slug in ("commissions", "withdrawals", "stock-movements"):
        assert client.get(report_url(slug)).status_code == 200
    assert client.get(report_url("refunds")).status_code == 403


def test_shoppers_are_sent_to_the_admin_sign_in(client, shopper):
    client.force_login(shopper)

    assert client.get(report_url("sales-by-day")).status_code == 302
    assert client.get(reverse("admin:reports_index")).status_code == 302


# --- what a page costs ---------------------------------------------------------------


def grow(shop, buy, admin_user, n):
    """n more of everything each report reads."""
    for k in range(n):
        product = Product.objects.create(
            category=shop["sauce"], name=f"新品{n}-{k}", slug=f"new-{n}-{k}"
        )
        variant = product.variants.create(name="500ml", sku=f"NEW-{n}-{k}", price=D("80.00"))
        inventory.receive(variant, 10, actor=admin_user)
        order = buy(f"grow{n}-{k}", [(variant, 1)], via=shop["bob"])
        if k % 2:
            refund(order, admin_user, reason=AfterSaleRequest.Reason.WRONG_ITEM)
        withdrawal(shop["alice"], "10.00")
    summaries.rebuild_day(timezone.localdate())


PAGES = [
    ("sales-by-day", {}),
    ("sales-by-product", {}),
    ("sales-by-product", {"category": "baijiu"}),
    ("sales-by-category", {}),
    ("sales-by-category", {"rollup": "on"}),
    ("sales-by-distributor", {"grade": "silver", "distributor": "bob"}),
    ("sales-by-grade", {}),
    ("commissions", {"distributor": "bob", "level": "1", "status": "pending"}),
    ("withdrawals", {"status": "requested"}),
    ("withdrawals", {"method": "bank_card"}),
    ("refunds", {}),
    ("refunds", {"mode": "requests", "reason": "damaged"}),
    ("stock-movements", {}),
    ("stock-movements", {"kind": "sold", "sku": "SKU"}),
]


def test_every_report_page_takes_the_same_queries_for_more_rows(client, admin_user, shop, buy):
    client.force_login(admin_user)
    default = Filters.last_days()
    objects = {
        "baijiu": shop["baijiu"].pk,
        "silver": Grade.objects.get(rank=1).pk,
        "bob": shop["bob"].pk,
    }

    def queries():
        counts = {}
        for slug, options in PAGES:
            params = {
                "start": default.start.isoformat(),
                "end": default.end.isoformat(),
                **{name: objects.get(value, value) for name, value in options.items()},
            }
            with CaptureQueriesContext(connection) as captured:
                response = client.get(report_url(slug), params)
            assert response.status_code == 200, (slug, response.context["form"].errors)
            counts[(slug, tuple(options))] = len(captured)
        return counts

    small = queries()
    grow(shop, buy, admin_user, 3)
    large = queries()
    grow(shop, buy, admin_user, 8)
    larger = queries()

    assert small == large == larger
    # session, user; the page's count, rows and totals (+1: customers over the range),
    # and one per chosen filter object (validated, then shown in its widget)
    assert max(small.values()) <= 9
