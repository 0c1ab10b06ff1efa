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

The reports live by topic: `base` (what every report is built from), `sales`,
`money` and `stock`; this module lists them and re-exports every public name.
"""

from .base import (
    CODE,
    DATE,
    DEFAULT_DAYS,
    MONEY,
    NUMBER,
    PAGE_SIZE,
    STREAM_CHUNK,
    SUMMARY_NOTE,
    TEXT,
    TIME,
    Column,
    Filters,
    Report,
    ReportForm,
)
from .money import CommissionsByDistributor, Refunds, Withdrawals
from .sales import SalesByCategory, SalesByDay, SalesByDistributor, SalesByGrade, SalesByProduct
from .stock import StockMovements

__all__ = [
    "CODE",
    "DATE",
    "DEFAULT_DAYS",
    "MONEY",
    "NUMBER",
    "PAGE_SIZE",
    "REPORTS",
    "STREAM_CHUNK",
    "SUMMARY_NOTE",
    "TEXT",
    "TIME",
    "Column",
    "CommissionsByDistributor",
    "Filters",
    "Refunds",
    "Report",
    "ReportForm",
    "SalesByCategory",
    "SalesByDay",
    "SalesByDistributor",
    "SalesByGrade",
    "SalesByProduct",
    "StockMovements",
    "Withdrawals",
    "get",
    "readable_by",
]


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
