"""The dashboard's figures (经营概况): every number and chart of the admin's home page.

Past days are read from the stored daily summaries (reports.summaries), today is
computed live with `compute_day(today)`, once per page, and a stored row of
today is never read: today's figures are as fresh as the records, and no read
scans the orders of a whole period. Every read here is a fixed number of
queries whatever the number of orders (tests/reports/test_dashboard.py counts
the whole page at two sizes):

  - the figures of a period and of the period before it: one query for the
    summaries of both, one per period for its paying customers (a customer
    who paid on two days is one customer, so that figure is counted from the
    orders, never added up over days);
  - the sales trend: one query; sales by category: two; the top products and
    the top distributors: two each (their stored sums, then their names);
  - the to-do counts: six.

Selectors take `today` (and `now`) so that tests fix the day without freezing
the clock. Money is Decimal, quantized by core.money; rates are fractions
quantized to RATE_QUANTUM and shown by format_percent.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from urllib.parse import urlencode

from django.db import models
from django.db.models import Count, F, Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import full_name
from catalog.models import Category, Product, Variant
from commissions.models import Withdrawal
from core.money import ZERO, format_cny, format_percent, from_db_sum, to_cents
from distributors.models import Distributor, DistributorApplication
from orders.models import AfterSaleRequest, Order, ShippingSettings
from support.models import Conversation

from . import summaries
from .models import DailySummary, DistributorDay, ProductDay
from .summaries import DayRows

RATE_QUANTUM = Decimal("0.001")  # rates and changes are shown to a tenth of a percent
TOP = 10  # products and distributors in the top lists
TREND_DAYS = 7  # the trend of a one-day period shows the week ending that day
LONGEST_RANGE = 366  # days of a chosen range, at most
EXPIRING_WITHIN = timedelta(minutes=10)  # unpaid orders cancelled this soon are a to-do

MONEY_FIELDS = frozenset(
    f.name for f in DailySummary._meta.concrete_fields if isinstance(f, models.DecimalField)
)


class Period(models.TextChoices):
    """The periods the dashboard offers (?period=...), each compared with the one before."""

    TODAY = "today", gettext_lazy("Today")
    YESTERDAY = "yesterday", gettext_lazy("Yesterday")
    LAST_7_DAYS = "7d", gettext_lazy("Last 7 days")
    LAST_30_DAYS = "30d", gettext_lazy("Last 30 days")
    CUSTOM = "custom", gettext_lazy("Chosen range")


DEFAULT_PERIOD = Period.LAST_7_DAYS


class BadPeriod(ValueError):
    """A period the dashboard cannot show; str() is a message for staff."""


@dataclass(frozen=True)
class Span:
    """The days of a period, both ends included, in the shop's time zone."""

    period: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def previous(self) -> "Span":
        """The period of the same length just before this one."""
        end = self.start - timedelta(days=1)
        return Span(self.period, end - timedelta(days=self.days - 1), end)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]

    def includes(self, day: date) -> bool:
        return self.start <= day <= self.end

    @property
    def label(self) -> str:
        if self.start == self.end:
            return self.start.isoformat()
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


def span_of(
    period: str, *, today: date, start: date | None = None, end: date | None = None
) -> Span:
    """The days of `period` as seen on `today`; BadPeriod for what cannot be shown."""
    if period == Period.TODAY:
        return Span(period, today, today)
    if period == Period.YESTERDAY:
        yesterday = today - timedelta(days=1)
        return Span(period, yesterday, yesterday)
    if period == Period.LAST_7_DAYS:
        return Span(period, today - timedelta(days=6), today)
    if period == Period.LAST_30_DAYS:
        return Span(period, today - timedelta(days=29), today)
    if period != Period.CUSTOM:
        raise BadPeriod(_("There is no period “%(period)s”.") % {"period": period})
    if start is None or end is None:
        raise BadPeriod(_("Enter both dates of the range."))
    if start > end:
        raise BadPeriod(_("The range starts after it ends."))
    if end > today:
        raise BadPeriod(_("The range cannot end after today."))
    if (end - start).days + 1 > LONGEST_RANGE:
        raise BadPeriod(_("A range can be at most %(days)d days long.") % {"days": LONGEST_RANGE})
    return Span(period, start, end)


def parse_period(params, *, today: date) -> tuple[Span, str]:
    """The period the query string asks for (?period=...&start=...&end=...), and a
    message for staff when it cannot be shown (the default period is shown instead)."""
    period = params.get("period") or DEFAULT_PERIOD
    try:
        start = _date(params.get("start")) if period == Period.CUSTOM else None
        end = _date(params.get("end")) if period == Period.CUSTOM else None
        return span_of(period, today=today, start=start, end=end), ""
    except BadPeriod as exc:
        message = _("%(problem)s Showing %(default)s instead.") % {
            "problem": exc,
            "default": Period(DEFAULT_PERIOD).label,
        }
        return span_of(DEFAULT_PERIOD, today=today), message


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadPeriod(_("Enter the dates as YYYY-MM-DD.")) from None


class Reader:
    """What one dashboard page reads of the summaries, each thing once.

    Today's rows are computed live (`compute_day`, once, on first use); stored
    rows are read for the days before today only.
    """

    def __init__(self, today: date):
        self.today = today
        self._live: DayRows | None = None

    def live(self) -> DayRows:
        if self._live is None:
            self._live = summaries.compute_day(self.today)
        return self._live

    def summaries(self, start: date, end: date) -> dict[date, DailySummary]:
        """The summary of each day from `start` to `end` that has one (one query)."""
        rows = {
            row.day: row
            for row in DailySummary.objects.filter(day__gte=start, day__lte=end, day__lt=self.today)
        }
        if start <= self.today <= end:
            rows[self.today] = self.live().summary
        return rows

    def stored(self, model, start: date, end: date):
        """The stored product or distributor days from `start` to `end` (a queryset)."""
        return model.objects.filter(day__gte=start, day__lte=end, day__lt=self.today)

    def live_products(self, start: date, end: date) -> list[ProductDay]:
        return self.live().products if start <= self.today <= end else []

    def live_distributors(self, start: date, end: date) -> list[DistributorDay]:
        return self.live().distributors if start <= self.today <= end else []


def totals(rows) -> dict[str, Decimal | int]:
    """The additive figures of some days' summaries, none missing (money quantized)."""
    added = dict.fromkeys(summaries.ADDITIVE_FIELDS, 0)
    added.update(summaries.add_up(rows))
    for name in MONEY_FIELDS & added.keys():
        added[name] = to_cents(added[name])
    return added


def rate(part, whole) -> Decimal | None:
    """`part` / `whole` as a fraction to RATE_QUANTUM; None when there is no whole."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN)


MONEY, COUNT, RATE = "money", "count", "rate"


def show(value, kind: str) -> str:
    """A figure as people read it: ¥1,299.00, 1,024 or 12.5% (– for no value)."""
    if value is None:
        return "–"
    if kind == MONEY:
        return format_cny(value)
    if kind == RATE:
        return format_percent(value)
    return f"{value:,}"


@dataclass(frozen=True)
class Figure:
    """One figure of a period beside the period before's, and which way it went.

    `rising_is_bad` marks figures whose rise is bad news (refunds, the payout
    ratio); `neutral` those that are neither good nor bad (the channel shares).
    """

    key: str
    label: str
    value: Decimal | int | None
    previous: Decimal | int | None
    kind: str = COUNT
    rising_is_bad: bool = False
    neutral: bool = False
    amount: Decimal | None = None  # a share's amount of money

    @property
    def shown(self) -> str:
        return show(self.value, self.kind)

    @property
    def previous_shown(self) -> str:
        return show(self.previous, self.kind)

    @property
    def amount_shown(self) -> str:
        return format_cny(self.amount)

    @property
    def change(self) -> Decimal | None:
        """The change from the period before, as a fraction (None: nothing to compare)."""
        if self.value is None or not self.previous:
            return None
        return rate(Decimal(self.value) - Decimal(self.previous), self.previous)

    @property
    def change_shown(self) -> str:
        change = self.change
        if change is None:
            return "–"
        return format_percent(abs(change))

    @property
    def direction(self) -> str:
        """ "up", "down" or "flat" (also when there is nothing to compare)."""
        if self.value is None or self.previous is None or self.value == self.previous:
            return "flat"
        return "up" if self.value > self.previous else "down"

    @property
    def tone(self) -> str:
        """ "good", "bad" or "neutral": the colour of the change."""
        if self.neutral or self.direction == "flat":
            return "neutral"
        rising = self.direction == "up"
        return "bad" if rising == self.rising_is_bad else "good"


@dataclass
class Figures:
    """The figures of a period, each beside the period before's."""

    span: Span
    cards: list[Figure]
    channels: list[Figure]  # shares of the paid goods: direct, one tier, two or three
    current: dict = field(repr=False, default_factory=dict)  # the raw totals


def figures(
    start: date, end: date, *, today: date | None = None, reader: Reader | None = None
) -> Figures:
    """The dashboard's figures from `start` to `end` and of as many days before.

    Four queries (one for the summaries of both periods, two for paying
    customers), plus compute_day's when the period includes today.
    """
    today = today or timezone.localdate()
    reader = reader or Reader(today)
    span = Span(Period.CUSTOM, start, end)
    before = span.previous
    rows = reader.summaries(before.start, end)
    now_totals = totals(row for day, row in rows.items() if span.includes(day))
    then_totals = totals(row for day, row in rows.items() if before.includes(day))
    now_totals["paying_customers"] = summaries.paying_customers(span.start, span.end)
    then_totals["paying_customers"] = summaries.paying_customers(before.start, before.end)

    def derived(t):
        return {
            "average_order": to_cents(t["gmv"] / t["paid_orders"]) if t["paid_orders"] else ZERO,
            "refund_rate": rate(t["refunds"], t["gmv"]),
            "payout_ratio": rate(t["commissions_accrued"], t["paid_goods"]),
        }

    now_totals.update(derived(now_totals))
    then_totals.update(derived(then_totals))

    def figure(key, label, kind=COUNT, **options):
        return Figure(key, label, now_totals[key], then_totals[key], kind, **options)

    cards = [
        figure("gmv", _("Paid sales"), MONEY),
        figure("paid_orders", _("Paid orders")),
        figure("paying_customers", _("Paying customers")),
        figure("average_order", _("Average order value"), MONEY),
        figure("new_customers", _("New customers")),
        figure("orders_placed", _("Orders placed")),
        figure("refunds", _("Refunded"), MONEY, rising_is_bad=True),
        figure("refund_rate", _("Refund rate"), RATE, rising_is_bad=True),
        figure("new_distributors", _("New distributors")),
        figure("commissions_accrued", _("Commissions accrued"), MONEY),
        figure("commissions_paid", _("Commissions paid out"), MONEY),
        figure("payout_ratio", _("Payout ratio"), RATE, rising_is_bad=True),
    ]
    channels = [
        Figure(
            key,
            label,
            rate(now_totals[key], now_totals["paid_goods"]),
            rate(then_totals[key], then_totals["paid_goods"]),
            RATE,
            neutral=True,
            amount=now_totals[key],
        )
        for key, label in (
            ("direct_sales", _("Direct sales")),
            ("single_tier_sales", _("One-tier distributor sales")),
            ("multi_tier_sales", _("Multi-tier distributor sales")),
        )
    ]
    return Figures(span=span, cards=cards, channels=channels, current=now_totals)


# --- Charts -------------------------------------------------------------------


def trend_span(span: Span) -> Span:
    """The days the sales trend shows: the period, or the week ending a one-day period."""
    if span.days >= TREND_DAYS or span.period not in (Period.TODAY, Period.YESTERDAY):
        return span
    return Span(span.period, span.end - timedelta(days=TREND_DAYS - 1), span.end)


def sales_trend(span: Span, reader: Reader) -> dict:
    """Paid sales and paid orders of each day (0 for a day without a row): one query."""
    shown = trend_span(span)
    rows = reader.summaries(shown.start, shown.end)
    days = shown.dates()
    gmv = [to_cents(rows[day].gmv) if day in rows else ZERO for day in days]
    orders = [rows[day].paid_orders if day in rows else 0 for day in days]
    return {
        "days": [day.strftime("%m-%d") for day in days],
        "gmv": [str(value) for value in gmv],
        "gmv_shown": [format_cny(value) for value in gmv],
        "orders": orders,
        "has_data": any(gmv) or any(orders),
    }


def _slice(items: list[dict], *, kind: str = MONEY) -> list[dict]:
    for item in items:
        item["shown"] = show(item["value"], kind)
        item["value"] = str(item["value"])
    return items


def sales_by_category(span: Span, reader: Reader) -> list[dict]:
    """Goods sold per top-level category (children rolled up to their root), largest
    first: two queries."""
    by_tree: dict[int | None, Decimal] = defaultdict(lambda: ZERO)
    stored = (
        reader.stored(ProductDay, span.start, span.end)
        .values("category__tree_id")
        .annotate(total=Sum("sales"))
        .order_by()
    )
    for row in stored:
        by_tree[row["category__tree_id"]] += from_db_sum(row["total"])
    live = reader.live_products(span.start, span.end)
    live_categories = {row.category_id for row in live if row.category_id}
    categories = list(
        Category.objects.filter(Q(level=0) | Q(pk__in=live_categories)).only(
            "pk", "tree_id", "level", "name", "name_en"
        )
    )
    tree_of = {category.pk: category.tree_id for category in categories}
    for row in live:
        by_tree[tree_of.get(row.category_id)] += row.sales
    names = {
        category.tree_id: category.display_name for category in categories if not category.level
    }
    items = [
        {"name": names.get(tree, _("Uncategorised")), "value": to_cents(total)}
        for tree, total in by_tree.items()
        if total
    ]
    items.sort(key=lambda item: (-item["value"], item["name"]))
    return _slice(items)


def top_products(span: Span, reader: Reader) -> list[dict]:
    """The TOP products by goods sold (what their lines were paid), largest first: two queries."""
    totals_by_id = _top(
        ProductDay, "product_id", span, reader, reader.live_products(span.start, span.end)
    )
    names = {
        product.pk: product.display_name
        for product in Product.objects.filter(pk__in=[pk for pk, _total in totals_by_id]).only(
            "pk", "name", "name_en"
        )
    }
    return _slice([{"name": names.get(pk, str(pk)), "value": total} for pk, total in totals_by_id])


def top_distributors(span: Span, reader: Reader) -> list[dict]:
    """The TOP distributors by the goods of orders credited to them: two queries."""
    totals_by_id = _top(
        DistributorDay,
        "distributor_id",
        span,
        reader,
        reader.live_distributors(span.start, span.end),
    )
    # What staff call a distributor: their name (姓名, family name first), else username.
    names = {
        row["pk"]: full_name(row["user__first_name"], row["user__last_name"])
        or row["user__username"]
        for row in Distributor.objects.filter(pk__in=[pk for pk, _total in totals_by_id]).values(
            "pk", "user__first_name", "user__last_name", "user__username"
        )
    }
    return _slice([{"name": names.get(pk, str(pk)), "value": total} for pk, total in totals_by_id])


def _top(model, key: str, span: Span, reader: Reader, live: list) -> list[tuple[int, Decimal]]:
    """The TOP ids of `model` (ProductDay, DistributorDay) by sales over the span, with
    their sums, largest first: one query.

    Exact with today live: an id outside the stored top ten that sold nothing
    today cannot pass the stored top ten, so the stored sums of those ten and of
    today's ids are all that is read.
    """
    live_sales: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for row in live:
        live_sales[getattr(row, key)] += row.sales
    stored = reader.stored(model, span.start, span.end)
    leaders = (
        stored.values(key).annotate(total=Sum("sales")).order_by("-total", key).values(key)[:TOP]
    )
    sums = dict(live_sales)
    rows = (
        stored.filter(Q(**{f"{key}__in": leaders}) | Q(**{f"{key}__in": list(live_sales)}))
        .values(key)
        .annotate(total=Sum("sales"))
        .order_by()
    )
    for row in rows:
        sums[row[key]] = sums.get(row[key], ZERO) + from_db_sum(row["total"])
    ranked = sorted(
        ((pk, to_cents(total)) for pk, total in sums.items() if total), key=lambda x: (-x[1], x[0])
    )
    return ranked[:TOP]


def funnel(figures_of_span: Figures) -> list[dict]:
    """Orders placed, paid and completed in the period (each counted on its own day)."""
    t = figures_of_span.current
    return [
        {"name": _("Orders placed"), "value": t["orders_placed"]},
        {"name": _("Orders paid"), "value": t["paid_orders"]},
        {"name": _("Orders completed"), "value": t["orders_completed"]},
    ]


def charts(span: Span, *, reader: Reader, figures_of_span: Figures) -> dict:
    """Everything the charts draw, as JSON-ready data with translated labels."""
    # Each channel keeps its colour (the palette's n-th) whichever are empty: the
    # table beside the donut shows the same colours.
    channel_items = [
        {"name": figure.label, "value": figure.amount, "color": number}
        for number, figure in enumerate(figures_of_span.channels)
        if figure.amount
    ]
    return {
        "trend": sales_trend(span, reader),
        "categories": sales_by_category(span, reader),
        "channels": _slice(channel_items),
        "products": top_products(span, reader),
        "distributors": top_distributors(span, reader),
        "funnel": funnel(figures_of_span),
        "labels": {
            "gmv": _("Paid sales"),
            "orders": _("Paid orders"),
            "sales": _("Sales"),
            "empty": _("No data for this period"),
        },
    }


# --- To-dos -------------------------------------------------------------------


@dataclass(frozen=True)
class Todo:
    """Something waiting for staff, with the admin list of exactly those rows."""

    key: str
    label: str
    count: int
    url: str
    permission: str  # the view permission the list needs

    @property
    def count_shown(self) -> str:
        return f"{self.count:,}"


def _changelist(name: str, **params) -> str:
    return reverse(f"admin:{name}_changelist") + "?" + urlencode(params)


def expiring_window(now: datetime, timeout: timedelta) -> tuple[datetime, datetime]:
    """Placed between these two moments, an unpaid order is cancelled within
    EXPIRING_WITHIN from `now` (its deadline is created_at + timeout)."""
    return now - timeout, now - timeout + EXPIRING_WITHIN


def todo_counts(*, now: datetime | None = None) -> list[Todo]:
    """What waits for staff: seven queries. Each link opens the admin list filtered to
    exactly the rows counted (the lists' own filters; the unpaid orders about to
    be cancelled by their placing time)."""
    now = timezone.localtime(now or timezone.now()).replace(microsecond=0)
    since, until = expiring_window(now, ShippingSettings.get_solo().unpaid_timeout)
    S = Order.Status
    expiring = Q(status=S.PENDING_PAYMENT, created_at__gte=since, created_at__lt=until)
    orders = Order.objects.filter(Q(status=S.PAID) | expiring).aggregate(
        to_ship=Count("pk", filter=Q(status=S.PAID)), expiring=Count("pk", filter=expiring)
    )
    open_after_sale = AfterSaleRequest.objects.filter(
        status__in=AfterSaleRequest.OPEN_STATUSES
    ).count()
    applications = DistributorApplication.objects.filter(
        status=DistributorApplication.Status.PENDING
    ).count()
    withdrawals = Withdrawal.objects.filter(status=Withdrawal.Status.REQUESTED).count()
    low_stock = Variant.objects.filter(is_active=True, stock__lte=F("low_stock_threshold")).count()
    awaiting_reply = Conversation.objects.filter(
        status=Conversation.Status.OPEN, waiting_since__isnull=False
    ).count()
    return [
        Todo(
            "to_ship",
            _("Orders to ship"),
            orders["to_ship"],
            _changelist("orders_order", status__exact=S.PAID),
            "orders.view_order",
        ),
        Todo(
            "after_sale",
            _("After-sale requests"),
            open_after_sale,
            _changelist(
                "orders_aftersalerequest", status__in=",".join(AfterSaleRequest.OPEN_STATUSES)
            ),
            "orders.view_aftersalerequest",
        ),
        Todo(
            "support",
            _("Conversations awaiting a reply"),
            awaiting_reply,
            _changelist("support_conversation", box="waiting"),
            "support.view_conversation",
        ),
        Todo(
            "applications",
            _("Distributor applications"),
            applications,
            _changelist(
                "distributors_distributorapplication",
                status__exact=DistributorApplication.Status.PENDING,
            ),
            "distributors.view_distributorapplication",
        ),
        Todo(
            "withdrawals",
            _("Withdrawals to review"),
            withdrawals,
            _changelist("commissions_withdrawal", status__exact=Withdrawal.Status.REQUESTED),
            "commissions.view_withdrawal",
        ),
        Todo(
            "low_stock",
            _("Low-stock variants"),
            low_stock,
            _changelist("catalog_variant", is_active__exact="1", stock_level="low"),
            "catalog.view_variant",
        ),
        Todo(
            "expiring",
            _("Unpaid orders about to be cancelled"),
            orders["expiring"],
            _changelist(
                "orders_order",
                status__exact=S.PENDING_PAYMENT,
                created_at__gte=since.isoformat(),
                created_at__lt=until.isoformat(),
            ),
            "orders.view_order",
        ),
    ]
