"""The back office's reports (报表): one small class per report.

A report says what it is (`slug`, `title`, a line for the index), who may read it
(`permission`), which filters it takes beside the date range (`filter_fields`),
its `columns`, and one ordered queryset (`queryset`). Everything else is built
from those, the same way for every report:

  - `rows(filters)` streams every row as a tuple of plain values (Decimal money,
    ints, dates, aware datetimes, text) with ``.iterator(chunk_size=2000)``, for
    the exports; `rows(filters, offset=, limit=)` one slice of them, for an export
    written in chunks (reports.exports);
  - `count(filters)`, `page(filters, number)` (50 rows a page) and `totals(filters)`
    (the summary line, aligned with the columns) for the screen.

A page of any report costs a fixed number of queries however many rows there
are: the count, the page, the totals (tests/reports/test_reports.py measures it).

The rows have a total order (every `order_by` ends in a unique key), so a page
or an export slice is the same rows each time it is read. Sales figures come
from the daily summary rows (reports.summaries), which exist for the days the
nightly build has done: today appears tomorrow. Commissions, withdrawals,
refunds and stock movements are read from their records, by the time each was
created; `Filters.as_of` caps that time, so an export written over several
task runs reads the records as they were when it was asked for (rows created
later fall after it and are left out, never shifted into a chunk written).
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _
from mptt.forms import TreeNodeChoiceField

from catalog.models import Category, StockMovement
from commissions.models import Commission, PayoutMethod, Withdrawal
from core.money import from_db_sum
from distributors.models import Distributor, Grade
from orders.models import AfterSaleRequest

from . import summaries
from .models import DailySummary, DistributorDay, ProductDay

PAGE_SIZE = 50
STREAM_CHUNK = 2000
DEFAULT_DAYS = 30

# What a column holds: how the screen and each export format show it. CODE is text
# that reads as one word (a SKU, an order number, a status) and never wraps.
TEXT, CODE, NUMBER, MONEY, DATE, TIME = "text", "code", "number", "money", "date", "time"


@dataclass(frozen=True)
class Column:
    label: str
    kind: str = TEXT

    @property
    def is_numeric(self) -> bool:
        return self.kind in (NUMBER, MONEY)


@dataclass(frozen=True)
class Filters:
    """What a report is asked for: the days `start` to `end` (both included, in the
    shop's time zone), the report's own options (cleaned form values), and the
    moment after which records are left out (None: now)."""

    start: date
    end: date
    options: Mapping[str, Any] = field(default_factory=dict)
    as_of: datetime | None = None

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, *, today: date | None = None) -> "Filters":
        today = today or timezone.localdate()
        return cls(today - timedelta(days=days - 1), today)

    @property
    def since(self) -> datetime:
        return summaries.day_bounds(self.start)[0]

    @property
    def until(self) -> datetime:
        """The first moment after the range (or `as_of`, if earlier)."""
        until = summaries.day_bounds(self.end)[1]
        return min(until, self.as_of) if self.as_of else until

    def get(self, name: str, default=None):
        value = self.options.get(name)
        return default if value in (None, "") else value


def _day_input():
    # a date picker needs the ISO form of the day, whatever the language's date format
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ReportForm(forms.Form):
    """The date range every report takes; each report adds its own fields."""

    start = forms.DateField(label=_("First day"), widget=_day_input())
    end = forms.DateField(label=_("Last day"), widget=_day_input())

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", gettext("The last day cannot come before the first."))
        return data


def _choices(all_label, choices) -> list:
    return [("", all_label), *choices]


def _name(name: str | None, name_en: str | None) -> str:
    """A bilingual name (catalog, grades) in the reader's language."""
    if name_en and (get_language() or "").startswith("en"):
        return name_en
    return name or ""


def _in_subtree(prefix: str, category: Category) -> Q:
    """Rows whose category (at `prefix`) is `category` or below it."""
    return Q(
        **{
            f"{prefix}__tree_id": category.tree_id,
            f"{prefix}__lft__gte": category.lft,
            f"{prefix}__rght__lte": category.rght,
        }
    )


class Report:
    """One report. Subclasses set the class attributes and write `queryset`,
    `to_row` and `totals`."""

    slug: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]
    permission: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]
    note: ClassVar[str | None] = None  # shown under the table

    def filter_fields(self) -> dict[str, forms.Field]:
        """The report's own filters beside the date range (form fields by name)."""
        return {}

    def form_class(self) -> type[ReportForm]:
        return type(f"{type(self).__name__}Form", (ReportForm,), self.filter_fields())

    def parse(
        self, data: Mapping | None, *, as_of: datetime | None = None
    ) -> tuple[ReportForm, Filters | None]:
        """The filter form bound to `data` and the filters it gives (None while it
        is not valid). Without a first and a last day, the last 30 days."""
        data = {name: data.get(name) for name in data} if data else {}
        if "start" not in data and "end" not in data:
            default = Filters.last_days()
            data.update(start=default.start.isoformat(), end=default.end.isoformat())
        form = self.form_class()(data)
        if not form.is_valid():
            return form, None
        options = {k: v for k, v in form.cleaned_data.items() if k not in ("start", "end")}
        return form, Filters(
            form.cleaned_data["start"], form.cleaned_data["end"], options, as_of=as_of
        )

    def get_columns(self, filters: Filters) -> tuple[Column, ...]:
        return self.columns

    def queryset(self, filters: Filters) -> QuerySet:
        raise NotImplementedError

    def to_row(self, item, filters: Filters) -> tuple:
        raise NotImplementedError

    def totals(self, filters: Filters) -> tuple:
        """The summary line, one cell per column (None where nothing adds up)."""
        raise NotImplementedError

    def count(self, filters: Filters) -> int:
        return self.queryset(filters).count()

    def rows(
        self, filters: Filters, *, offset: int = 0, limit: int | None = None
    ) -> Iterator[tuple]:
        """Every row (or `limit` rows from `offset`), streamed from the database."""
        queryset = self.queryset(filters)
        if offset or limit is not None:
            queryset = queryset[offset : None if limit is None else offset + limit]
        for item in queryset.iterator(chunk_size=STREAM_CHUNK):
            yield self.to_row(item, filters)

    def page(self, filters: Filters, number) -> Page:
        """One page of rows (the last one if `number` is past it, the first if it is
        not a number); two queries: the count and the rows."""
        page = Paginator(self.queryset(filters), PAGE_SIZE).get_page(number)
        page.object_list = [self.to_row(item, filters) for item in page.object_list]
        return page


# --- sales, from the daily summaries ---------------------------------------------------

SUMMARY_NOTE = _(
    "Sales figures come from the daily summaries, built every night: today's appear tomorrow."
)


class SalesByDay(Report):
    note = SUMMARY_NOTE
    slug = "sales-by-day"
    title = _("Sales by day")
    description = _("Each day's paid sales, orders, customers, refunds and commissions.")
    permission = "orders.view_order"
    columns = (
        Column(_("Day"), DATE),
        Column(_("Paid orders"), NUMBER),
        Column(_("Paying customers"), NUMBER),
        Column(_("New customers"), NUMBER),
        Column(_("Paid sales"), MONEY),
        Column(_("Refunded"), MONEY),
        Column(_("Commissions accrued"), MONEY),
        Column(_("Commissions reversed"), MONEY),
    )
    FIELDS = (
        "paid_orders",
        "paying_customers",
        "new_customers",
        "gmv",
        "refunds",
        "commissions_accrued",
        "commissions_reversed",
    )

    def _days(self, filters):
        return DailySummary.objects.filter(day__gte=filters.start, day__lte=filters.end)

    def queryset(self, filters):
        return self._days(filters).order_by("day").values("day", *self.FIELDS)

    def to_row(self, item, filters):
        return (
            item["day"],
            item["paid_orders"],
            item["paying_customers"],
            item["new_customers"],
            from_db_sum(item["gmv"]),
            from_db_sum(item["refunds"]),
            from_db_sum(item["commissions_accrued"]),
            from_db_sum(item["commissions_reversed"]),
        )

    def totals(self, filters):
        sums = self._days(filters).aggregate(
            last_day=Max("day"), **{name: Sum(name) for name in self.FIELDS}
        )
        # A customer who paid on two days is one customer: counted from the orders,
        # up to the end of the last day summarised (the rows shown).
        customers = 0
        if sums["last_day"] is not None:
            until = summaries.day_bounds(sums["last_day"])[1]
            customers = summaries.paying_customers(filters.since, until)
        return (
            gettext("Total"),
            sums["paid_orders"] or 0,
            customers,
            sums["new_customers"] or 0,
            from_db_sum(sums["gmv"]),
            from_db_sum(sums["refunds"]),
            from_db_sum(sums["commissions_accrued"]),
            from_db_sum(sums["commissions_reversed"]),
        )


def _category_field():
    return TreeNodeChoiceField(
        queryset=Category.objects.all(),
        required=False,
        label=_("Category"),
        help_text=_("With its subcategories."),
        empty_label=gettext("All categories"),
    )


class SalesByProduct(Report):
    note = SUMMARY_NOTE
    slug = "sales-by-product"
    title = _("Sales by product")
    description = _("Orders, units and sales of each product over the range, best first.")
    permission = "orders.view_order"
    columns = (
        Column(_("Product")),
        Column(_("Category")),
        Column(_("Orders"), NUMBER),
        Column(_("Units"), NUMBER),
        Column(_("Sales"), MONEY),
    )

    def filter_fields(self):
        return {"category": _category_field()}

    def _days(self, filters):
        days = ProductDay.objects.filter(day__gte=filters.start, day__lte=filters.end)
        if category := filters.get("category"):
            # the category the product had that day (what the day recorded)
            days = days.filter(_in_subtree("category", category))
        return days

    def queryset(self, filters):
        return (
            self._days(filters)
            .values(
                "product_id",
                "product__name",
                "product__name_en",
                "product__category__name",
                "product__category__name_en",
            )
            .annotate(orders=Sum("orders"), units=Sum("units"), sales=Sum("sales"))
            .order_by("-sales", "product_id")
        )

    def to_row(self, item, filters):
        return (
            _name(item["product__name"], item["product__name_en"]),
            _name(item["product__category__name"], item["product__category__name_en"]),
            item["orders"] or 0,
            item["units"] or 0,
            from_db_sum(item["sales"]),
        )

    def totals(self, filters):
        sums = self._days(filters).aggregate(
            products=Count("product_id", distinct=True),
            orders=Sum("orders"),
            units=Sum("units"),
            sales=Sum("sales"),
        )
        products = sums["products"]
        return (
            ngettext("Total: %(count)s product", "Total: %(count)s products", products)
            % {"count": products},
            None,
            sums["orders"] or 0,
            sums["units"] or 0,
            from_db_sum(sums["sales"]),
        )


def _root_category(field_name: str) -> Subquery:
    """The name (`field_name`) of the top-level category of a ProductDay's category."""
    return Subquery(
        Category.objects.filter(tree_id=OuterRef("category__tree_id"), level=0).values(field_name)[
            :1
        ]
    )


class SalesByCategory(Report):
    note = SUMMARY_NOTE
    slug = "sales-by-category"
    title = _("Sales by category")
    description = _(
        "Products sold, units and sales of each category; subcategories can be rolled up."
    )
    permission = "orders.view_order"
    columns = (
        Column(_("Category")),
        Column(_("Products sold"), NUMBER),
        Column(_("Units"), NUMBER),
        Column(_("Sales"), MONEY),
    )

    def filter_fields(self):
        return {
            "rollup": forms.BooleanField(
                required=False,
                label=_("Include subcategories"),
                help_text=_("Roll each subcategory up into its top-level category."),
            )
        }

    def _days(self, filters):
        return ProductDay.objects.filter(day__gte=filters.start, day__lte=filters.end)

    def queryset(self, filters):
        figures = {
            "products": Count("product_id", distinct=True),
            "units": Sum("units"),
            "sales": Sum("sales"),
        }
        if filters.get("rollup"):
            # Each top-level category is a tree of its own (django-mptt's tree_id).
            return (
                self._days(filters)
                .values("category__tree_id")
                .annotate(name=_root_category("name"), name_en=_root_category("name_en"), **figures)
                .order_by("-sales", "category__tree_id")
            )
        return (
            self._days(filters)
            .values("category_id", "category__name", "category__name_en", "category__level")
            .annotate(root=_root_category("name"), root_en=_root_category("name_en"), **figures)
            .order_by("-sales", "category_id")
        )

    def to_row(self, item, filters):
        if filters.get("rollup"):
            name = _name(item["name"], item["name_en"]) if item["category__tree_id"] else None
        elif item["category_id"] is None:
            name = None
        else:
            name = _name(item["category__name"], item["category__name_en"])
            if item["category__level"]:
                name = f"{_name(item['root'], item['root_en'])} › {name}"
        return (
            name or gettext("(no category)"),
            item["products"],
            item["units"] or 0,
            from_db_sum(item["sales"]),
        )

    def totals(self, filters):
        sums = self._days(filters).aggregate(
            products=Count("product_id", distinct=True), units=Sum("units"), sales=Sum("sales")
        )
        return (gettext("Total"), sums["products"], sums["units"] or 0, from_db_sum(sums["sales"]))


class _DistributorSearch(AutocompleteSelect):
    """The admin's search-as-you-type select (a shop has thousands of distributors),
    saying what an empty choice means."""

    def build_attrs(self, base_attrs, extra_attrs=None):
        attrs = super().build_attrs(base_attrs, extra_attrs)
        attrs["data-placeholder"] = gettext("All distributors")
        return attrs


def _distributor_field():
    return forms.ModelChoiceField(
        queryset=Distributor.objects.select_related("user"),
        required=False,
        label=_("Distributor"),
        widget=_DistributorSearch(DistributorDay._meta.get_field("distributor"), admin.site),
    )


def _grade_field():
    return forms.ModelChoiceField(
        queryset=Grade.objects.all(),
        required=False,
        label=_("Grade"),
        empty_label=gettext("All grades"),
    )


class SalesByDistributor(Report):
    note = SUMMARY_NOTE
    slug = "sales-by-distributor"
    title = _("Sales by distributor")
    description = _("Orders credited to each distributor, their sales and commissions accrued.")
    permission = "orders.view_order"
    columns = (
        Column(_("Distributor"), CODE),
        Column(_("Invite code"), CODE),
        Column(_("Grade"), CODE),
        Column(_("Orders"), NUMBER),
        Column(_("Sales"), MONEY),
        Column(_("Commissions accrued"), MONEY),
    )

    def filter_fields(self):
        return {
            "grade": _grade_field(),
            "distributor": _distributor_field(),
        }

    def _days(self, filters):
        days = DistributorDay.objects.filter(day__gte=filters.start, day__lte=filters.end)
        if grade := filters.get("grade"):
            days = days.filter(grade=grade)  # the grade they had that day
        if distributor := filters.get("distributor"):
            days = days.filter(distributor=distributor)
        return days

    def queryset(self, filters):
        return (
            self._days(filters)
            .values(
                "distributor_id",
                "distributor__user__username",
                "distributor__invite_code",
                "distributor__grade__name",
                "distributor__grade__name_en",
            )
            .annotate(orders=Sum("orders"), sales=Sum("sales"), commissions=Sum("commissions"))
            .order_by("-sales", "distributor_id")
        )

    def to_row(self, item, filters):
        return (
            item["distributor__user__username"],
            item["distributor__invite_code"],
            _name(item["distributor__grade__name"], item["distributor__grade__name_en"]),
            item["orders"] or 0,
            from_db_sum(item["sales"]),
            from_db_sum(item["commissions"]),
        )

    def totals(self, filters):
        sums = self._days(filters).aggregate(
            distributors=Count("distributor_id", distinct=True),
            orders=Sum("orders"),
            sales=Sum("sales"),
            commissions=Sum("commissions"),
        )
        count = sums["distributors"]
        return (
            ngettext("Total: %(count)s distributor", "Total: %(count)s distributors", count)
            % {"count": count},
            None,
            None,
            sums["orders"] or 0,
            from_db_sum(sums["sales"]),
            from_db_sum(sums["commissions"]),
        )


class SalesByGrade(Report):
    note = SUMMARY_NOTE
    slug = "sales-by-grade"
    title = _("Sales by grade")
    description = _("Distributors, orders, sales and commissions of each distributor grade.")
    permission = "orders.view_order"
    columns = (
        Column(_("Grade"), CODE),
        Column(_("Distributors"), NUMBER),
        Column(_("Orders"), NUMBER),
        Column(_("Sales"), MONEY),
        Column(_("Commissions accrued"), MONEY),
    )

    def _days(self, filters):
        return DistributorDay.objects.filter(day__gte=filters.start, day__lte=filters.end)

    def queryset(self, filters):
        return (
            self._days(filters)
            .values("grade_id", "grade__name", "grade__name_en", "grade__rank")
            .annotate(
                distributors=Count("distributor_id", distinct=True),
                orders=Sum("orders"),
                sales=Sum("sales"),
                commissions=Sum("commissions"),
            )
            .order_by(F("grade__rank").asc(nulls_last=True), "grade_id")
        )

    def to_row(self, item, filters):
        name = _name(item["grade__name"], item["grade__name_en"]) if item["grade_id"] else ""
        return (
            name or gettext("(no grade)"),
            item["distributors"],
            item["orders"] or 0,
            from_db_sum(item["sales"]),
            from_db_sum(item["commissions"]),
        )

    def totals(self, filters):
        sums = self._days(filters).aggregate(
            distributors=Count("distributor_id", distinct=True),
            orders=Sum("orders"),
            sales=Sum("sales"),
            commissions=Sum("commissions"),
        )
        return (
            gettext("Total"),
            sums["distributors"],
            sums["orders"] or 0,
            from_db_sum(sums["sales"]),
            from_db_sum(sums["commissions"]),
        )


# --- money owed and paid to distributors ---------------------------------------------


class CommissionsByDistributor(Report):
    slug = "commissions"
    title = _("Commissions by distributor and level")
    description = _(
        "Commissions accrued in the range for each distributor and level: amount, "
        "reversed by refunds, and what they keep."
    )
    permission = "commissions.view_commission"
    columns = (
        Column(_("Distributor"), CODE),
        Column(_("Invite code"), CODE),
        Column(_("Level"), NUMBER),
        Column(_("Commissions"), NUMBER),
        Column(_("Amount"), MONEY),
        Column(_("Reversed"), MONEY),
        Column(_("Net"), MONEY),
    )

    def filter_fields(self):
        return {
            "distributor": _distributor_field(),
            "level": forms.TypedChoiceField(
                choices=_choices(gettext("All levels"), [(n, str(n)) for n in (1, 2, 3)]),
                coerce=int,
                required=False,
                empty_value=None,
                label=_("Level"),
            ),
            "status": forms.ChoiceField(
                choices=_choices(gettext("All statuses"), Commission.Status.choices),
                required=False,
                label=_("Status"),
            ),
        }

    def _commissions(self, filters):
        commissions = Commission.objects.filter(
            created_at__gte=filters.since, created_at__lt=filters.until
        )
        if distributor := filters.get("distributor"):
            commissions = commissions.filter(distributor=distributor)
        if level := filters.get("level"):
            commissions = commissions.filter(level=level)
        if status := filters.get("status"):
            commissions = commissions.filter(status=status)
        return commissions

    FIGURES: ClassVar = {
        "number": Count("pk"),
        "amount_total": Sum("amount"),
        "reversed_total": Sum("reversed_amount"),
        "net_total": Sum(F("amount") - F("reversed_amount")),
    }

    def queryset(self, filters):
        return (
            self._commissions(filters)
            .values(
                "distributor_id", "distributor__user__username", "distributor__invite_code", "level"
            )
            .annotate(**self.FIGURES)
            .order_by("distributor__user__username", "distributor_id", "level")
        )

    def to_row(self, item, filters):
        return (
            item["distributor__user__username"],
            item["distributor__invite_code"],
            item["level"],
            item["number"],
            from_db_sum(item["amount_total"]),
            from_db_sum(item["reversed_total"]),
            from_db_sum(item["net_total"]),
        )

    def totals(self, filters):
        sums = self._commissions(filters).aggregate(
            distributors=Count("distributor_id", distinct=True), **self.FIGURES
        )
        count = sums["distributors"]
        return (
            ngettext("Total: %(count)s distributor", "Total: %(count)s distributors", count)
            % {"count": count},
            None,
            None,
            sums["number"],
            from_db_sum(sums["amount_total"]),
            from_db_sum(sums["reversed_total"]),
            from_db_sum(sums["net_total"]),
        )


class Withdrawals(Report):
    slug = "withdrawals"
    title = _("Withdrawals")
    description = _(
        "Each withdrawal requested in the range: amount, fee, what was paid, how and when."
    )
    permission = "commissions.view_withdrawal"
    columns = (
        Column(_("Requested"), TIME),
        Column(_("Number"), CODE),
        Column(_("Distributor"), CODE),
        Column(_("Amount"), MONEY),
        Column(_("Fee"), MONEY),
        Column(_("Net amount"), MONEY),
        Column(_("Payout method"), CODE),
        Column(_("Account"), CODE),
        Column(_("Status"), CODE),
        Column(_("Reviewed"), TIME),
    )

    def filter_fields(self):
        return {
            "status": forms.ChoiceField(
                choices=_choices(gettext("All statuses"), Withdrawal.Status.choices),
                required=False,
                label=_("Status"),
            ),
            "method": forms.ChoiceField(
                choices=_choices(gettext("All methods"), PayoutMethod.choices),
                required=False,
                label=_("Payout method"),
            ),
            "distributor": _distributor_field(),
        }

    def _withdrawals(self, filters):
        withdrawals = Withdrawal.objects.filter(
            created_at__gte=filters.since, created_at__lt=filters.until
        )
        for name in ("status", "method", "distributor"):
            if value := filters.get(name):
                withdrawals = withdrawals.filter(**{name: value})
        return withdrawals

    def queryset(self, filters):
        return (
            self._withdrawals(filters)
            .select_related("distributor__user")
            .only(
                "created_at",
                "distributor__user__username",
                "amount",
                "fee",
                "net_amount",
                "method",
                "account_number",
                "status",
                "reviewed_at",
            )
            .order_by("created_at", "pk")
        )

    def to_row(self, withdrawal, filters):
        return (
            withdrawal.created_at,
            withdrawal.payout_bill_no,
            withdrawal.distributor.user.get_username(),
            withdrawal.amount,
            withdrawal.fee,
            withdrawal.net_amount,
            withdrawal.get_method_display(),
            # the last four characters only: a report travels further than the admin
            withdrawal.masked_account_number,
            withdrawal.get_status_display(),
            withdrawal.reviewed_at,
        )

    def totals(self, filters):
        sums = self._withdrawals(filters).aggregate(
            number=Count("pk"), amount=Sum("amount"), fee=Sum("fee"), net=Sum("net_amount")
        )
        count = sums["number"]
        return (
            ngettext("Total: %(count)s withdrawal", "Total: %(count)s withdrawals", count)
            % {"count": count},
            None,
            None,
            from_db_sum(sums["amount"]),
            from_db_sum(sums["fee"]),
            from_db_sum(sums["net"]),
            None,
            None,
            None,
            None,
        )


# --- after-sale and stock ----------------------------------------------------------


class Refunds(Report):
    """Refunds and their reasons: by reason (the default), or each request."""

    slug = "refunds"
    title = _("Refunds and reasons")
    description = _(
        "After-sale requests of the range by reason, with what was refunded; or each request."
    )
    permission = "orders.view_aftersalerequest"
    columns = (
        Column(_("Reason")),
        Column(_("Requests"), NUMBER),
        Column(_("Amount asked"), MONEY),
        Column(_("Refunded"), NUMBER),
        Column(_("Amount refunded"), MONEY),
    )
    detail_columns = (
        Column(_("Requested"), TIME),
        Column(_("Order number"), CODE),
        Column(_("Kind"), CODE),
        Column(_("Reason")),
        Column(_("Details")),
        Column(_("Amount"), MONEY),
        Column(_("Status"), CODE),
        Column(_("Decided"), TIME),
    )
    BY_REASON, EACH = "reasons", "requests"

    def filter_fields(self):
        return {
            "mode": forms.ChoiceField(
                choices=[(self.BY_REASON, _("By reason")), (self.EACH, _("Each request"))],
                required=False,
                label=_("Show"),
            ),
            "reason": forms.ChoiceField(
                choices=_choices(gettext("All reasons"), AfterSaleRequest.Reason.choices),
                required=False,
                label=_("Reason"),
            ),
            "kind": forms.ChoiceField(
                choices=_choices(gettext("All kinds"), AfterSaleRequest.Kind.choices),
                required=False,
                label=_("Kind"),
            ),
            "status": forms.ChoiceField(
                choices=_choices(gettext("All statuses"), AfterSaleRequest.Status.choices),
                required=False,
                label=_("Status"),
            ),
        }

    def _each(self, filters) -> bool:
        return filters.get("mode") == self.EACH

    def get_columns(self, filters):
        return self.detail_columns if self._each(filters) else self.columns

    def _requests(self, filters):
        requests = AfterSaleRequest.objects.filter(
            created_at__gte=filters.since, created_at__lt=filters.until
        )
        for name in ("reason", "kind", "status"):
            if value := filters.get(name):
                requests = requests.filter(**{name: value})
        return requests

    REFUNDED = Q(status=AfterSaleRequest.Status.REFUNDED)
    FIGURES: ClassVar = {
        "number": Count("pk"),
        "asked": Sum("amount"),
        "refunded": Count("pk", filter=REFUNDED),
        "refunded_amount": Sum("amount", filter=REFUNDED),
    }

    def queryset(self, filters):
        if self._each(filters):
            return (
                self._requests(filters)
                .select_related("order")
                .only(
                    "created_at",
                    "order__number",
                    "kind",
                    "reason",
                    "reason_text",
                    "amount",
                    "status",
                    "decided_at",
                )
                .order_by("created_at", "pk")
            )
        return (
            self._requests(filters)
            .values("reason")
            .annotate(**self.FIGURES)
            .order_by("-number", "reason")
        )

    def to_row(self, item, filters):
        if self._each(filters):
            return (
                item.created_at,
                item.order.number,
                item.get_kind_display(),
                item.get_reason_display(),
                item.reason_text,
                item.amount,
                item.get_status_display(),
                item.decided_at,
            )
        return (
            str(AfterSaleRequest.Reason(item["reason"]).label),
            item["number"],
            from_db_sum(item["asked"]),
            item["refunded"],
            from_db_sum(item["refunded_amount"]),
        )

    def totals(self, filters):
        sums = self._requests(filters).aggregate(**self.FIGURES)
        if self._each(filters):
            count = sums["number"]
            return (
                ngettext("Total: %(count)s request", "Total: %(count)s requests", count)
                % {"count": count},
                *([None] * 4),
                from_db_sum(sums["asked"]),
                None,
                None,
            )
        return (
            gettext("Total"),
            sums["number"],
            from_db_sum(sums["asked"]),
            sums["refunded"],
            from_db_sum(sums["refunded_amount"]),
        )


class StockMovements(Report):
    slug = "stock-movements"
    title = _("Stock movements")
    description = _("Every change of stock in the range: what, how many, why and by whom.")
    permission = "catalog.view_stockmovement"
    columns = (
        Column(_("Time"), TIME),
        Column(_("SKU"), CODE),
        Column(_("Product")),
        Column(_("Kind"), CODE),
        Column(_("Quantity"), NUMBER),
        Column(_("Stock after"), NUMBER),
        Column(_("Reference"), CODE),
        Column(_("Reason")),
        Column(_("By"), CODE),
    )

    def filter_fields(self):
        return {
            "kind": forms.ChoiceField(
                choices=_choices(gettext("All kinds"), StockMovement.Kind.choices),
                required=False,
                label=_("Kind"),
            ),
            "sku": forms.CharField(
                required=False,
                max_length=64,
                label=_("SKU"),
                help_text=_("The SKU or its beginning."),
            ),
        }

    def _movements(self, filters):
        movements = StockMovement.objects.filter(
            created_at__gte=filters.since, created_at__lt=filters.until
        )
        if kind := filters.get("kind"):
            movements = movements.filter(kind=kind)
        if sku := filters.get("sku"):
            movements = movements.filter(variant__sku__istartswith=sku.strip())
        return movements

    def queryset(self, filters):
        return (
            self._movements(filters)
            .select_related("variant__product", "actor")
            .only(
                "created_at",
                "variant__sku",
                "variant__name",
                "variant__name_en",
                "variant__product__name",
                "variant__product__name_en",
                "kind",
                "quantity",
                "stock_after",
                "reference",
                "reason",
                "actor__username",
            )
            .order_by("created_at", "pk")
        )

    def to_row(self, movement, filters):
        variant = movement.variant
        return (
            movement.created_at,
            variant.sku,
            f"{variant.product.display_name} {variant.display_name}",
            movement.get_kind_display(),
            movement.quantity,
            movement.stock_after,
            movement.reference,
            movement.reason,
            movement.actor.get_username() if movement.actor else gettext("system"),
        )

    def totals(self, filters):
        sums = self._movements(filters).aggregate(number=Count("pk"), net=Sum("quantity"))
        count = sums["number"]
        return (
            ngettext("Total: %(count)s movement", "Total: %(count)s movements", count)
            % {"count": count},
            None,
            None,
            None,
            sums["net"] or 0,
            None,
            None,
            None,
            None,
        )


REPORTS: dict[str, Report] = {
    report.slug: report
    for report in (
        SalesByDay(),
        SalesByProduct(),
        SalesByCategory(),
        SalesByDistributor(),
        SalesByGrade(),
        CommissionsByDistributor(),
        Withdrawals(),
        Refunds(),
        StockMovements(),
    )
}


def get(slug: str) -> Report:
    """The report named `slug` (KeyError if there is none)."""
    return REPORTS[slug]


def readable_by(user) -> list[Report]:
    """The reports `user` may read, in the index's order."""
    return [report for report in REPORTS.values() if user.has_perm(report.permission)]
