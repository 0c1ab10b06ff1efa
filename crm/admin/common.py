"""What the customer admins share: their stylesheet, tag chips and the customer
export (the list's CSV action and a saved segment's download write the same columns)."""

from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy

from core.admin import excel_safe

from .. import selectors

CSS = {"all": ["admin/css/crm.css"]}


def tag_chips(tags):
    return format_html_join(
        " ",
        '<span class="tag-chip" style="--tag-color: {}">{}</span>',
        ((tag.color, tag.display_name) for tag in tags),
    )


# The columns of a customer export, in order, with their headers.
EXPORT_COLUMNS = (
    ("username", gettext_lazy("Username")),
    ("name", gettext_lazy("Name")),
    ("phone", gettext_lazy("Mobile phone")),
    ("segment", gettext_lazy("Segment")),
    ("orders", gettext_lazy("Paid orders")),
    ("spent", gettext_lazy("Spent")),
    ("last_order", gettext_lazy("Last order")),
    ("bound_distributor", gettext_lazy("Bound distributor")),
    ("tags", gettext_lazy("Tags")),
)


def export_lines(profiles):
    """The header and one row per customer of `profiles` (text cells made safe for
    Excel, amounts in yuan as 1299.00)."""
    yield [str(header) for _key, header in EXPORT_COLUMNS]
    for row in selectors.export_rows(profiles):
        yield [
            row[key] if key in ("orders", "spent") else excel_safe(row[key])
            for key, _header in EXPORT_COLUMNS
        ]
