"""The staff figures page (客服统计): per staff member over today, 7 or 30 shop days,
and the inbox now (support.staff_figures reads them in a fixed number of queries).

A page of the conversation admin (/admin/support/conversation/figures/), linked
from the inbox and the app's index; it needs support.view_conversation.
"""

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.forms import Media
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from .. import staff_figures
from ..staff_figures import Period
from .common import CSS, duration_text


def period_tabs(chosen: str) -> list[dict]:
    labels = {
        Period.TODAY: _("Today"),
        Period.WEEK: _("Last 7 days"),
        Period.MONTH: _("Last 30 days"),
    }
    return [
        {"label": label, "url": "?" + urlencode({"period": key}), "active": key == chosen}
        for key, label in labels.items()
    ]


def shown(figures: staff_figures.StaffFigures) -> dict:
    """One line of the table, its times in words."""
    return {
        "figures": figures,
        "median": duration_text(figures.median_first_reply),
        "average": duration_text(figures.average_first_reply),
        "rating": "-" if figures.average_rating is None else f"{figures.average_rating:.1f}",
    }


def figures_page(model_admin, request):
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    chosen = request.GET.get("period", Period.DEFAULT)
    if chosen not in Period.DAYS:
        chosen = Period.DEFAULT
    figures = staff_figures.staff_figures(Period.days(chosen))
    inbox = reverse("admin:support_conversation_changelist")
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Customer service figures"),
        "tabs": period_tabs(chosen),
        "figures": figures,
        "rows": [shown(row) for row in figures.rows],
        "totals": shown(figures.totals),
        "links": {
            "open": f"{inbox}?box=open",
            "unassigned": f"{inbox}?box=unassigned",
            "waiting": f"{inbox}?box=waiting",
        },
        "too_long_minutes": int(staff_figures.WAITING_TOO_LONG.total_seconds() // 60),
        "media": Media(css=CSS),
    }
    return TemplateResponse(request, "admin/support/figures.html", context)
