"""The campaign report (活动报表) in the admin: per coupon and per time-limited
discount, over a date range, on a page and as CSV (marketing.reports reads it).

The report is a page of the admin site (the coupon admin's get_urls adds it,
`urls` below), not a storefront URL: so it sits under /admin/ with the admin's
sign-in, and the staff second factor (accounts.middleware, which guards the
admin namespace) applies to it as to every admin page. It needs no model,
hence no migration, where a proxy model would.
"""

import csv
from collections.abc import Iterator

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import CSV_BOM, excel_safe

from .. import reports
from ..models import Coupon

PERMISSIONS = ("marketing.view_coupon", "marketing.view_timeddiscount")


def _day_input():
    # a date picker needs the ISO form of the day, whatever the language's date format
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PeriodForm(forms.Form):
    start = forms.DateField(label=gettext_lazy("First day"), widget=_day_input())
    end = forms.DateField(label=gettext_lazy("Last day"), widget=_day_input())

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The last day cannot come before the first."))
        return data


def _period(request) -> tuple[PeriodForm, reports.Period]:
    """The form as typed (the last 30 days when nothing is) and the period it gives
    (the last 30 days while it is not valid)."""
    default = reports.Period.last_days()
    if "start" not in request.GET and "end" not in request.GET:
        return PeriodForm(initial={"start": default.start, "end": default.end}), default
    form = PeriodForm(request.GET)
    if not form.is_valid():
        return form, default
    return form, reports.Period(form.cleaned_data["start"], form.cleaned_data["end"])


def _require_permission(request) -> None:
    if not request.user.has_perms(PERMISSIONS):
        raise PermissionDenied


def campaign_report(request):
    """The report page: the range form, a table of coupons and one of discounts."""
    _require_permission(request)
    form, period = _period(request)
    context = {
        **admin.site.each_context(request),
        "opts": Coupon._meta,
        "title": _("Campaign report"),
        "form": form,
        "report": reports.campaign_report(period),
        "query": request.GET.urlencode(),
    }
    return TemplateResponse(request, "admin/marketing/campaign_report.html", context)


class _Echo:
    """A file that hands back what is written to it: csv.writer then yields lines."""

    def write(self, value):
        return value


def csv_rows(period: reports.Period) -> Iterator[list]:
    """The report's rows as the CSV has them: a header, each coupon, their total, each
    discount, their total. Amounts in yuan (1299.00) for spreadsheets."""
    yield [
        _("Campaign"),
        _("Name"),
        _("Period"),
        _("Claimed"),
        _("Used"),
        _("Orders"),
        _("Units sold"),
        _("Goods paid"),
        _("Discount given"),
        _("Commissions"),
    ]

    def cells(kind, name, when, figures: reports.Figures):
        return [
            kind,
            excel_safe(name),
            when,
            "" if figures.claimed is None else figures.claimed,
            "" if figures.used is None else figures.used,
            figures.orders,
            figures.units,
            figures.goods,
            figures.discount,
            figures.commissions,
        ]

    coupon, discount = _("Coupon"), _("Time-limited discount")
    totals = reports.Figures(claimed=0, used=0)
    for row in reports.coupon_rows(period):
        totals.add(row.figures)
        yield cells(coupon, row.campaign.name, "", row.figures)
    yield cells(coupon, _("Total"), "", totals)
    for row in reports.discount_rows(period):
        yield cells(discount, row.campaign.name, _when(row.campaign), row.figures)
    yield cells(discount, _("Total"), "", reports.discount_totals(period))


def _when(discount) -> str:
    start, end = timezone.localtime(discount.starts_at), timezone.localtime(discount.ends_at)
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}"


def campaign_report_csv(request):
    """The same rows as the page, streamed (one campaign at a time from the database)."""
    _require_permission(request)
    _form, period = _period(request)
    writer = csv.writer(_Echo())

    def lines():
        yield CSV_BOM
        for row in csv_rows(period):
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    name = f"campaigns-{period.start:%Y%m%d}-{period.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def urls(model_admin) -> list:
    """The report's admin URLs, for the coupon admin's get_urls (as batch shipping hangs
    off the order admin): /admin/marketing/coupon/report/ and its CSV."""
    site = model_admin.admin_site
    return [
        path(
            "report/",
            site.admin_view(campaign_report),
            name="marketing_campaign_report",
        ),
        path(
            "report.csv",
            site.admin_view(campaign_report_csv),
            name="marketing_campaign_report_csv",
        ),
    ]
