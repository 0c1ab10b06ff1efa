"""The dashboard (经营概况) on the admin's home page: the context MallAdminSite.index adds.

Only staff who may see orders get it; anyone else sees Django's plain list of
apps. Every figure comes from reports.dashboard; this module only parses the
period, keeps the to-dos the user may open, and links the report pages when
they exist.
"""

from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.replica import reading_replica

from . import dashboard

PERMISSION = "orders.view_order"


def can_see_dashboard(user) -> bool:
    return user.is_active and user.is_staff and user.has_perm(PERMISSION)


def dashboard_context(site, request) -> dict:
    """{"dashboard": ...} for staff who can view orders, {} for anyone else.

    Its figures are read from the replica when there is one (core.replica): they
    may be a few seconds behind the primary."""
    if not can_see_dashboard(request.user):
        return {}
    with reading_replica():
        return _dashboard(request)


def _dashboard(request) -> dict:
    today = timezone.localdate()
    span, problem = dashboard.parse_period(request.GET, today=today)
    reader = dashboard.Reader(today)
    figures = dashboard.figures(span.start, span.end, today=today, reader=reader)
    todos = [todo for todo in dashboard.todo_counts() if request.user.has_perm(todo.permission)]
    custom = span.period == dashboard.Period.CUSTOM
    return {
        "dashboard": {
            "span": span,
            "previous": span.previous,
            "problem": problem,
            "tabs": [
                {
                    "label": label,
                    "url": "?" + urlencode({"period": value}),
                    "active": value == span.period,
                }
                for value, label in dashboard.Period.choices
                if value != dashboard.Period.CUSTOM
            ],
            "custom": custom,
            "start": span.start.isoformat(),
            "end": span.end.isoformat(),
            "today": today.isoformat(),
            "cards": figures.cards,
            "channels": figures.channels,
            "todos": todos,
            "charts": dashboard.charts(span, reader=reader, figures_of_span=figures),
            "reports_url": _reports_url(),
            "trend_note": (
                _("The week ending %(day)s") % {"day": span.end.isoformat()}
                if dashboard.trend_span(span) != span
                else ""
            ),
        }
    }


def _reports_url() -> str:
    """The report pages (reports.admin_urls), once they are there."""
    try:
        return reverse("admin:reports_index")
    except NoReverseMatch:
        return ""
