"""Batch shipping (批量发货): a CSV of order numbers, carriers and tracking numbers.

Staff upload the file, see every row checked (`check_rows`, one query), then
confirm; the valid rows are shipped one by one through `services.ship_order`,
which checks each again under the order's lock, so a row that went stale
between preview and confirm (shipped in another tab) is refused, not shipped
twice.

The file is what Excel and WPS write: UTF-8 with or without a BOM, or GBK
(GB18030, its superset) from a Chinese Windows; comma, semicolon or tab
separated; a header row is optional. Excel shows a long number typed into a
plain cell as 2.02512E+17 and saves it so: such a value is refused with a
hint rather than matched to nothing.
"""

import csv
import io
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

from . import services
from .models import Order
from .tracking import carriers

MAX_BYTES = 1024 * 1024
MAX_ROWS = 1000
SCIENTIFIC = re.compile(r"^\d+(\.\d+)?[eE]\+?\d+$")
ORDER_NUMBER = re.compile(r"^\d+$")


class BadFile(Exception):
    """A file that cannot be read as a CSV of shipments; str() is for staff."""


@dataclass
class Row:
    line: int  # in the file, counting from 1, header included
    number: str
    carrier_text: str
    tracking_number: str
    carrier: str | None = None  # the code, once known
    order: Order | None = None
    error: str = ""

    @property
    def is_valid(self) -> bool:
        return not self.error

    @property
    def carrier_name(self) -> str:
        """The carrier as people read it: its name once known, else as typed."""
        return carriers.display_name(self.carrier) if self.carrier else self.carrier_text


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BadFile(_("The file is neither UTF-8 nor GBK text. Save it as CSV and upload again."))


def read_rows(data: bytes) -> list[Row]:
    """The rows of an uploaded file (a header row, if any, skipped). Raises BadFile."""
    if len(data) > MAX_BYTES:
        raise BadFile(_("The file is larger than 1 MB; split it into smaller files."))
    text = decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = []
    for line, cells in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        if not rows and line == 1 and not _number_like(cells[0]):
            continue  # a header
        cells += [""] * (3 - len(cells))
        rows.append(Row(line, cells[0], cells[1], cells[2]))
        if len(rows) > MAX_ROWS:
            raise BadFile(
                _("The file has more than %(count)d rows; split it.") % {"count": MAX_ROWS}
            )
    if not rows:
        raise BadFile(_("The file has no rows to ship."))
    return rows


def _number_like(text: str) -> bool:
    return bool(ORDER_NUMBER.match(text) or SCIENTIFIC.match(text))


def check_rows(rows: list[Row]) -> list[Row]:
    """Give each row its order, carrier code and the first reason it cannot ship (one query)."""
    found = Order.objects.in_bulk(
        [row.number for row in rows if ORDER_NUMBER.match(row.number)], field_name="number"
    )
    numbers_seen, parcels_seen = set(), set()
    excel_hint = _("Excel turned it into a number; format the column as text and type it again.")
    for row in rows:
        row.order = found.get(row.number)
        row.carrier = carriers.normalise(row.carrier_text)
        if not (row.number and row.carrier_text and row.tracking_number):
            row.error = _("An order number, a carrier and a tracking number are needed.")
        elif SCIENTIFIC.match(row.number) or SCIENTIFIC.match(row.tracking_number):
            row.error = excel_hint
        elif row.number in numbers_seen:
            row.error = _("This order is listed twice in the file.")
        elif row.order is None:
            row.error = _("No order has this number.")
        elif row.order.shipped_at is not None:
            row.error = _("Already shipped (%(carrier)s %(tracking)s).") % {
                "carrier": row.order.carrier_name,
                "tracking": row.order.tracking_number,
            }
        elif row.order.status == Order.Status.PENDING_PAYMENT:
            row.error = _("Not paid yet.")
        elif not row.order.can_become(Order.Status.SHIPPED):
            row.error = _("The order is %(status)s and cannot be shipped.") % {
                "status": row.order.get_status_display()
            }
        elif row.carrier is None:
            row.error = _("“%(carrier)s” is not a carrier we ship with.") % {
                "carrier": row.carrier_text
            }
        elif (row.carrier, row.tracking_number) in parcels_seen:
            row.error = _("This tracking number is listed twice in the file.")
        numbers_seen.add(row.number)
        if row.carrier:
            parcels_seen.add((row.carrier, row.tracking_number))
    return rows


def ship_rows(rows: list[Row], *, actor) -> tuple[list[Row], list[Row]]:
    """Ship the valid rows through ship_order, each in its own transaction; returns
    (shipped, refused), a refused row carrying ship_order's reason."""
    shipped, refused = [], []
    for row in rows:
        if not row.is_valid:
            refused.append(row)
            continue
        try:
            services.ship_order(
                row.order, carrier=row.carrier, tracking_number=row.tracking_number, actor=actor
            )
        except services.OrderError as exc:
            row.error = str(exc)
            refused.append(row)
        else:
            shipped.append(row)
    return shipped, refused


def template_csv() -> bytes:
    """A file to fill in: the header and one example row, UTF-8 with a BOM for Excel."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Order number"), _("Carrier"), _("Tracking number")])
    writer.writerow(["20251201" + "0" * 10, "顺丰", "SF1234567890123"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
