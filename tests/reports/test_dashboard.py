"""The dashboard (经营概况) on the admin's home page: figures per period beside the period
before, today live, the to-dos and their lists, the charts, who sees it, and its cost."""

import itertools
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone, translation

from catalog.models import Category, Product, Variant
from commissions import services as commission_services
from core.money import format_cny
from distributors.models import DistributorApplication
from orders import aftersale
from orders import services as order_services
from orders.models import AfterSaleRequest, Order, ShippingSettings
from reports import dashboard, summaries
from reports.models import DailySummary
from support import services as support_services
from tests.commissions.helpers import withdraw

pytestmark = pytest.mark.django_db

TODAY = date(2025, 3, 10)  # a fixed day for the selectors (they take today=)


def at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


@pytest.fixture
def sell(make_user, address, variant):
    """sell(day, buyer=None, quantity=1, via=None): an order paid on `day` (created then too)."""
    numbers = itertools.count(1)

    def sell(day, *, buyer=None, quantity=1, via=None, product_variant=None, hour=10):
        buyer = buyer or make_user(f"buyer{next(numbers)}")
        order = order_services.place_order(
            buyer,
            [((product_variant or variant).pk, quantity)],
            address=address,
            referral_code=via.invite_code if via else "",
        )
        order_services.mark_paid(order)
        Order.objects.filter(pk=order.pk).update(created_at=at(day, hour), paid_at=at(day, hour))
        order.refresh_from_db()
        return order

    return sell


@pytest.fixture
def variant(make_variant):
    return make_variant(price="100.00", stock=500)


@pytest.fixture
def boss(client, django_user_model):
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-123456-long")
    client.force_login(user)
    return user


def card(figures, key):
    return next(figure for figure in figures.cards if figure.key == key)


def page_card(response, key):
    return next(f for f in response.context["dashboard"]["cards"] if f.key == key)


# --- periods and figures ------------------------------------------------------------


def test_the_last_seven_days_are_compared_with_the_seven_before(sell, make_user):
    regular = make_user("regular")
    # given two orders in the period (one of them today, live), by one customer
    this_week = [sell(TODAY - timedelta(days=2), buyer=regular), sell(TODAY, buyer=regular)]
    # and one in the week before
    last_week = sell(TODAY - timedelta(days=9))
    for day in (TODAY - timedelta(days=9), TODAY - timedelta(days=2)):
        summaries.rebuild_day(day)

    span = dashboard.span_of(dashboard.Period.LAST_7_DAYS, today=TODAY)
    figures = dashboard.figures(span.start, span.end, today=TODAY)

    gmv = card(figures, "gmv")
    assert gmv.value == sum(order.total for order in this_week)
    assert gmv.previous == last_week.total
    assert gmv.change == Decimal("1.000")  # twice as much: +100%
    assert (gmv.direction, gmv.tone, gmv.change_shown) == ("up", "good", "100%")
    assert card(figures, "paid_orders").value == 2
    # one customer who paid on two days is one paying customer, not two
    assert card(figures, "paying_customers").value == 1
    assert card(figures, "average_order").value == this_week[0].total
    assert card(figures, "average_order").shown == format_cny(this_week[0].total)


def test_a_stored_row_of_today_is_never_read(sell):
    order = sell(TODAY)
    DailySummary.objects.create(day=TODAY, gmv=Decimal("99999.00"), paid_orders=77)

    figures = dashboard.figures(TODAY, TODAY, today=TODAY)

    assert card(figures, "gmv").value == order.total
    assert card(figures, "paid_orders").value == 1


def test_yesterday_is_compared_with_the_day_before_and_its_trend_shows_the_week(sell):
    sell(TODAY - timedelta(days=1), quantity=3)
    sell(TODAY - timedelta(days=2))
    summaries.rebuild_day(TODAY - timedelta(days=1))
    summaries.rebuild_day(TODAY - timedelta(days=2))
    span = dashboard.span_of(dashboard.Period.YESTERDAY, today=TODAY)
    reader = dashboard.Reader(TODAY)

    figures = dashboard.figures(span.start, span.end, today=TODAY, reader=reader)
    trend = dashboard.sales_trend(span, reader)

    assert card(figures, "paid_orders").value == 1
    assert card(figures, "paid_orders").previous == 1
    assert card(figures, "paid_orders").direction == "flat"
    assert card(figures, "gmv").value > card(figures, "gmv").previous
    assert len(trend["days"]) == 7 and trend["days"][-1] == "03-09"
    assert trend["orders"] == [0, 0, 0, 0, 0, 1, 1]  # days without a row are 0


def test_rising_refunds_and_payout_ratio_are_bad_news():
    refunds = dashboard.Figure(
        "refunds", "", Decimal("20.00"), Decimal("10.00"), rising_is_bad=True
    )
    fewer = dashboard.Figure("refunds", "", Decimal("5.00"), Decimal("10.00"), rising_is_bad=True)
    sales = dashboard.Figure("gmv", "", Decimal("5.00"), Decimal("10.00"))

    assert (refunds.direction, refunds.tone) == ("up", "bad")
    assert (fewer.direction, fewer.tone) == ("down", "good")
    assert (sales.direction, sales.tone, sales.change_shown) == ("down", "bad", "50%")


def test_paid_goods_are_split_into_direct_one_tier_and_multi_tier_sales(sell, chain):
    alice, bob, _carol = chain
    sell(TODAY)  # direct
    sell(TODAY, via=alice)  # alice has no recruiter: one tier
    sell(TODAY, via=bob, quantity=2)  # bob's chain is bob, alice

    figures = dashboard.figures(TODAY, TODAY, today=TODAY)

    shares = {figure.key: figure.value for figure in figures.channels}
    assert shares == {
        "direct_sales": Decimal("0.250"),
        "single_tier_sales": Decimal("0.250"),
        "multi_tier_sales": Decimal("0.500"),
    }
    assert [figure.shown for figure in figures.channels] == ["25%", "25%", "50%"]


def test_sales_by_category_roll_children_up_to_their_root(sell, make_variant, category):
    child = Category.objects.create(name="酱香型", slug="sauce", parent=category)
    wine = Category.objects.create(name="葡萄酒", slug="wine")
    in_child = make_variant(price="300.00", stock=10)
    Product.objects.filter(pk=in_child.product_id).update(category=child)
    in_wine = make_variant(price="50.00", stock=10)
    Product.objects.filter(pk=in_wine.product_id).update(category=wine)
    sell(TODAY - timedelta(days=1))  # ¥100 of 白酒 itself, stored
    sell(TODAY, product_variant=in_child)  # ¥300 of 酱香型 (白酒's child), live
    sell(TODAY, product_variant=in_wine)
    summaries.rebuild_day(TODAY - timedelta(days=1))

    with translation.override("zh-hans"):
        items = dashboard.sales_by_category(
            dashboard.Span("7d", TODAY - timedelta(days=6), TODAY), dashboard.Reader(TODAY)
        )

    assert [(item["name"], item["value"]) for item in items] == [
        ("白酒", "400.00"),
        ("葡萄酒", "50.00"),
    ]


def test_top_products_count_todays_sales_live(sell, make_variant, variant):
    champion = make_variant(price="1000.00", stock=10)
    for back in (1, 2):
        sell(TODAY - timedelta(days=back), quantity=2)  # ¥200 a day of the first product
        summaries.rebuild_day(TODAY - timedelta(days=back))
    sell(TODAY, product_variant=champion)  # ¥1,000 today only
    span = dashboard.Span("7d", TODAY - timedelta(days=6), TODAY)

    items = dashboard.top_products(span, dashboard.Reader(TODAY))

    assert [(item["name"], item["value"]) for item in items] == [
        (champion.product.display_name, "1000.00"),
        (variant.product.display_name, "400.00"),
    ]


def test_top_distributors_are_named(sell, chain, django_user_model):
    alice, bob, _carol = chain
    django_user_model.objects.filter(pk=bob.user_id).update(first_name="建国", last_name="王")
    sell(TODAY, via=bob, quantity=3)
    sell(TODAY, via=alice)

    items = dashboard.top_distributors(
        dashboard.Span("today", TODAY, TODAY), dashboard.Reader(TODAY)
    )

    assert [(item["name"], item["shown"]) for item in items] == [
        ("王建国", "¥300.00"),
        ("alice", "¥100.00"),
    ]


@pytest.mark.parametrize(
    "query, problem",
    [
        ("period=fortnight", "There is no period “fortnight”."),
        ("period=custom&start=2025-13-01&end=2025-03-02", "Enter the dates as YYYY-MM-DD."),
        ("period=custom&start=2025-03-05&end=2025-03-01", "The range starts after it ends."),
        ("period=custom&start=2025-03-01", "Enter both dates of the range."),
    ],
)
def test_a_period_that_cannot_be_shown_is_told_and_the_default_is_shown(
    client, boss, settings, query, problem
):
    settings.LANGUAGE_CODE = "en"

    response = client.get(reverse("admin:index") + "?" + query, HTTP_ACCEPT_LANGUAGE="en")

    board = response.context["dashboard"]
    assert board["problem"] == f"{problem} Showing Last 7 days instead."
    assert board["problem"] in response.content.decode()
    assert board["span"] == dashboard.span_of("7d", today=timezone.localdate())


def test_a_chosen_range_is_compared_with_as_many_days_before(client, boss):
    today = timezone.localdate()
    start, end = today - timedelta(days=20), today - timedelta(days=11)

    response = client.get(reverse("admin:index"), {"period": "custom", "start": start, "end": end})

    board = response.context["dashboard"]
    assert board["problem"] == ""
    assert (board["span"].start, board["span"].end) == (start, end)
    assert (board["previous"].start, board["previous"].end) == (
        today - timedelta(days=30),
        today - timedelta(days=21),
    )


def test_an_order_paid_a_moment_ago_shows_on_the_page_without_a_rebuild(
    client, boss, shopper, variant, address
):
    order = order_services.place_order(shopper, [(variant.pk, 3)], address=address)
    order_services.mark_paid(order)

    response = client.get(reverse("admin:index"), {"period": "today"})

    gmv = page_card(response, "gmv")
    assert gmv.value == order.total
    assert format_cny(order.total) in response.content.decode()
    assert not DailySummary.objects.exists()


# --- to-dos -------------------------------------------------------------------------


@pytest.fixture
def waiting(sell, make_variant, make_user, address, chain, boss, variant):
    """One row of each kind waiting for staff, beside rows that are not."""
    rules = ShippingSettings.get_solo()
    rules.unpaid_timeout_minutes = 30
    rules.save()
    to_ship = sell(timezone.localdate())
    shipped = sell(timezone.localdate())
    order_services.ship_order(shipped, carrier="SF", tracking_number="SF1", actor=boss)
    asking = sell(timezone.localdate())
    request = aftersale.request_refund(
        asking, user=asking.user, kind=AfterSaleRequest.Kind.WHOLE_ORDER, reason="damaged"
    )
    expiring = order_services.place_order(make_user("slow"), [(variant.pk, 1)], address=address)
    Order.objects.filter(pk=expiring.pk).update(created_at=timezone.now() - timedelta(minutes=25))
    fresh = order_services.place_order(make_user("fresh"), [(variant.pk, 1)], address=address)
    application = DistributorApplication.objects.create(
        user=make_user("hopeful"), name="张三", phone="13800138000"
    )
    DistributorApplication.objects.create(
        user=make_user("turned_down"),
        name="李四",
        phone="13800138001",
        status=DistributorApplication.Status.REJECTED,
        reviewed_at=timezone.now(),
    )
    carol = chain[2]
    earned = sell(timezone.localdate(), via=carol, quantity=10)  # carol earns 10% of ¥1,000
    commission_services.accrue_commissions(earned.pk)
    order_services.ship_order(earned, carrier="SF", tracking_number="SF2", actor=boss)
    order_services.complete_order(earned, actor=boss)
    commission_services.release_order_commissions(earned.pk)
    requested = withdraw(carol, "60.00")
    low = make_variant(stock=3)
    inactive_low = make_variant(stock=1, is_active=False)
    Variant.objects.filter(pk=variant.pk).update(low_stock_threshold=0)
    question = support_services.start_conversation(make_user("asker"), body="在吗？")
    answered = support_services.start_conversation(make_user("answered"), body="你好")
    support_services.post_message(answered, boss, body="您好", as_staff=True)
    return {
        "to_ship": {to_ship.pk, asking.pk},  # paid, not shipped (a refund asked or not)
        "after_sale": {request.pk},
        "support": {question.pk},  # a shopper waits for an answer
        "expiring": {expiring.pk},
        "applications": {application.pk},
        "withdrawals": {requested.pk},
        "low_stock": {low.pk},
        "_not": (shipped, fresh, inactive_low, answered),
    }


def test_each_to_do_links_to_a_list_of_exactly_its_rows(client, boss, waiting):
    todos = {todo.key: todo for todo in dashboard.todo_counts()}

    for key, expected in waiting.items():
        if key.startswith("_"):
            continue
        response = client.get(todos[key].url)
        assert response.status_code == 200, key
        listed = {obj.pk for obj in response.context["cl"].queryset}
        assert listed == expected, key
        assert todos[key].count == len(expected), key


def test_the_to_dos_show_on_the_page_with_their_links(client, boss, waiting):
    response = client.get(reverse("admin:index"))

    shown = {todo.key: todo.count for todo in response.context["dashboard"]["todos"]}
    assert shown == {
        "to_ship": 2,
        "after_sale": 1,
        "support": 1,
        "applications": 1,
        "withdrawals": 1,
        "low_stock": 1,
        "expiring": 1,
    }
    assert reverse("admin:orders_order_changelist") + "?status__exact=paid" in (
        response.content.decode()
    )


def test_staff_see_only_the_to_dos_whose_lists_they_may_open(client, make_user, waiting):
    clerk = make_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(clerk)

    response = client.get(reverse("admin:index"))

    assert [todo.key for todo in response.context["dashboard"]["todos"]] == [
        "to_ship",
        "expiring",
    ]


# --- who sees it ------------------------------------------------------------------


def test_staff_who_cannot_view_orders_get_the_plain_list_of_apps(client, make_user):
    clerk = make_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_product"))
    client.force_login(clerk)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert "dashboard" not in response.context
    assert b"dashboard-data" not in response.content
    assert b"app-catalog" in response.content


def test_someone_not_staff_is_sent_to_sign_in(client, shopper):
    client.force_login(shopper)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_staff_who_can_view_orders_see_the_dashboard_and_the_apps(client, make_user):
    clerk = make_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(clerk)

    response = client.get(reverse("admin:index"))

    assert "dashboard" in response.context
    assert b'id="dashboard-data"' in response.content
    assert b"app-orders" in response.content


# --- cost ---------------------------------------------------------------------------


def history(sell, chain, make_variant, orders: int) -> None:
    """`orders` paid orders over the last five days, today included, direct and through
    one or two tiers, of two products; the past days rebuilt."""
    alice, bob, _carol = chain
    other = make_variant(price="39.00", stock=500)
    today = timezone.localdate()
    for n in range(orders):
        day = today - timedelta(days=n % 5)
        sell(day, via=(None, alice, bob)[n % 3], product_variant=other if n % 2 else None)
    for back in range(1, 5):
        summaries.rebuild_day(today - timedelta(days=back))


@pytest.mark.parametrize("orders", [6, 30])
def test_the_page_costs_the_same_queries_whatever_the_history(
    client, boss, sell, chain, make_variant, django_assert_num_queries, orders
):
    history(sell, chain, make_variant, orders)
    ShippingSettings.get_solo()
    client.get(reverse("admin:index"))  # the session's and the admin's first reads

    with django_assert_num_queries(27):
        response = client.get(reverse("admin:index"))

    assert page_card(response, "paid_orders").value == orders
    assert response.context["dashboard"]["charts"]["products"]


# --- the daily summaries' admin --------------------------------------------------


def test_the_summaries_list_shows_money_as_yuan(client, boss, sell):
    order = sell(TODAY)
    summaries.rebuild_day(TODAY)

    response = client.get(reverse("admin:reports_dailysummary_changelist"))

    assert response.status_code == 200
    assert format_cny(order.total) in response.content.decode()
    assert reverse("admin:reports_dailysummary_rebuild") in response.content.decode()


def test_rebuilding_the_selected_days_recomputes_them(client, boss, sell):
    DailySummary.objects.create(day=TODAY, gmv=Decimal("1.00"))
    order = sell(TODAY)

    response = client.post(
        reverse("admin:reports_dailysummary_changelist"),
        {
            "action": "rebuild_days",
            "_selected_action": [DailySummary.objects.get(day=TODAY).pk],
        },
        follow=True,
    )

    assert DailySummary.objects.get(day=TODAY).gmv == order.total
    assert len(list(response.context["messages"])) == 1


def test_a_range_of_days_is_queued_for_rebuilding(client, boss, monkeypatch, settings):
    settings.LANGUAGE_CODE = "en"
    queued = []
    monkeypatch.setattr(
        "reports.tasks.schedule_rebuild", lambda start, end: queued.append((start, end)) or 3
    )
    today = timezone.localdate()
    start = today - timedelta(days=2)

    response = client.post(
        reverse("admin:reports_dailysummary_rebuild"),
        {"start": start.isoformat(), "end": today.isoformat()},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert queued == [(start, today)]
    assert [str(m) for m in response.context["messages"]] == ["3 days queued for rebuilding."]


def test_a_range_that_ends_after_today_is_refused(client, boss):
    today = timezone.localdate()

    response = client.post(
        reverse("admin:reports_dailysummary_rebuild"),
        {"start": today.isoformat(), "end": (today + timedelta(days=1)).isoformat()},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["end"]


def test_staff_who_may_only_read_summaries_cannot_rebuild(client, make_user):
    reader = make_user("reader", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_dailysummary"))
    client.force_login(reader)

    assert client.get(reverse("admin:reports_dailysummary_changelist")).status_code == 200
    assert client.get(reverse("admin:reports_dailysummary_rebuild")).status_code == 403
