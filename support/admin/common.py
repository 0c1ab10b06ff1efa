"""What the customer-service admin pages share: durations in words, the waiting
badge, the stylesheet and script."""

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..staff_figures import WAITING_TOO_LONG

CSS = {"all": ["admin/css/crm.css", "admin/css/support.css"]}
JS = ["admin/js/support-inbox.js"]


def duration_text(delta: timedelta | None) -> str:
    """45 秒, 12 分钟, 1 小时 5 分钟, 2 天 3 小时: the two largest units that matter."""
    if delta is None:
        return "-"
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}
    minutes = seconds // 60
    if minutes < 60:
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        text = ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
        if minutes:
            text += " " + ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
        return text
    days, hours = divmod(hours, 24)
    text = ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
    if hours:
        text += " " + ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    return text


def waiting(since: datetime | None, now: datetime | None = None) -> dict:
    """How long a shopper has waited for an answer: {"text": "等待 12 分钟", "late": bool}
    (no text when nobody waits)."""
    if since is None:
        return {"text": "", "late": False}
    waited = (now or timezone.now()) - since
    return {
        "text": _("waiting %(time)s") % {"time": duration_text(waited)},
        "late": waited > WAITING_TOO_LONG,
    }


def waiting_badge(pk: int, since: datetime | None, now: datetime | None = None) -> str:
    """The inbox's waiting cell (support-inbox.js refreshes it by data-conversation)."""
    shown = waiting(since, now)
    return format_html(
        '<span class="support-waiting{}" data-conversation="{}">{}</span>',
        " is-late" if shown["late"] else "",
        pk,
        shown["text"] or "-",
    )


def unread_badge(pk: int, unread: int) -> str:
    return format_html(
        '<span class="support-unread{}" data-conversation="{}">{}</span>',
        "" if unread else " is-zero",
        pk,
        unread,
    )


def local_time(value: datetime | None, *, now: datetime | None = None) -> str:
    """14:05 today, 05-31 14:05 this year, 2025-12-31 14:05 before."""
    if value is None:
        return "-"
    local, today = timezone.localtime(value), timezone.localtime(now or timezone.now())
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%m-%d %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")
