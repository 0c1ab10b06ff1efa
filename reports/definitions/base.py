"""What every report is built from: the columns, the filters, the filter form and
the `Report` class itself (its rows, count, page and totals), with the helpers and
filter fields several reports share. See the package's docstring for the whole."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from catalog.models import Category
from core.days import DayRange
from distributors.models import Distributor

from ..models import DistributorDay

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


@dataclass(frozen=True)
class Filters(DayRange):
    """What a report is asked for: the days `start` to `end` (both included, in the
    shop's time zone), the report's own options (cleaned form values), and the
    moment after which records are left out (None: now)."""

    options: Mapping[str, Any] = field(default_factory=dict)
    as_of: datetime | None = None

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, *, today: date | None = None) -> "Filters":
        return super().last_days(days, today=today)

    @property
    def until(self) -> datetime:
        """The first moment after the range (or `as_of`, if earlier)."""
        until = super().until
        return min(until, self.as_of) if self.as_of else until

    def get(self, name: str, default=None):
        value = self.options.get(name)
        return default if value in (None, "") else value


def day_input():
    """A date picker: it needs the ISO form of the day, whatever the language's format."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ReportForm(forms.Form):
    """The date range every report takes; each report adds its own fields."""

    start = forms.DateField(label=_("First day"), widget=day_input())
    end = forms.DateField(label=_("Last day"), widget=day_input())

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", gettext("The last day cannot come before the first."))
        return data

    def typed(self) -> dict[str, str]:
        """The filters as typed, the empty ones left out: what a link back to the
        report, its export buttons and an export job carry."""
        return {
            name: str(value)
            for name in self.fields
            if (value := self.data.get(name)) not in (None, "")
        }


def choices_with_all(all_label, choices) -> list:
    """A filter's choices after an empty one, `all_label`, that filters nothing."""
    return [("", all_label), *choices]


def in_subtree(prefix: str, category: Category) -> Q:
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
        """Every row (or `limit` rows from `offset`), streamed from the database.

        The database is chosen now (the replica inside core.replica.reading_replica()),
        not when the rows are read: a streamed response reads them after its view
        has returned, outside the view's scope."""
        queryset = self.queryset(filters)
        queryset = queryset.using(queryset.db)
        if offset or limit is not None:
            queryset = queryset[offset : None if limit is None else offset + limit]
        return (self.to_row(item, filters) for item in queryset.iterator(chunk_size=STREAM_CHUNK))

    def page(self, filters: Filters, number) -> Page:
        """One page of rows (the last one if `number` is past it, the first if it is
        not a number); two queries: the count and the rows."""
        page = Paginator(self.queryset(filters), PAGE_SIZE).get_page(number)
        page.object_list = [self.to_row(item, filters) for item in page.object_list]
        return page


SUMMARY_NOTE = _(
    "Sales figures come from the daily summaries, built every night: today's appear tomorrow."
)


class DistributorSearch(AutocompleteSelect):
    """The admin's search-as-you-type select (a shop has thousands of distributors),
    saying what an empty choice means."""

    def build_attrs(self, base_attrs, extra_attrs=None):
        attrs = super().build_attrs(base_attrs, extra_attrs)
        attrs["data-placeholder"] = gettext("All distributors")
        return attrs


def distributor_field():
    """The filter on one distributor (none chosen: all of them)."""
    return forms.ModelChoiceField(
        queryset=Distributor.objects.select_related("user"),
        required=False,
        label=_("Distributor"),
        widget=DistributorSearch(DistributorDay._meta.get_field("distributor"), admin.site),
    )
