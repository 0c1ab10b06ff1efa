"""The daily summaries in the back office (经营日报): read-only rows, and rebuilding them.

A summary is derived data (reports.summaries): staff never edit one, they
rebuild it from the records, for the selected days (in the request, one day
each, safe to repeat) or for a range (queued to the worker, one task a day).
Rebuilding needs the change permission on daily summaries.
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from core.admin import ReadOnlyAdmin, cny_column

from . import summaries, tasks
from .definitions.base import day_input
from .models import DailySummary

LONGEST_REBUILD = 3660  # days one request may queue (ten years)


class RebuildRangeForm(forms.Form):
    start = forms.DateField(label=pgettext_lazy("date range", "From"), widget=day_input())
    end = forms.DateField(label=pgettext_lazy("date range", "To"), widget=day_input())

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The range starts after it ends."))
            if end > timezone.localdate():
                self.add_error("end", _("Days after today have nothing to summarise."))
            if (end - start).days + 1 > LONGEST_REBUILD:
                raise forms.ValidationError(
                    _("Rebuild at most %(days)d days at a time.") % {"days": LONGEST_REBUILD}
                )
        return data


@admin.register(DailySummary)
class DailySummaryAdmin(ReadOnlyAdmin):
    list_display = (
        "day",
        "gmv_cny",
        "paid_orders",
        "paying_customers",
        "refunds_cny",
        "commissions_accrued_cny",
        "built_at",
    )
    date_hierarchy = "day"
    list_per_page = 62
    actions = ["rebuild_days"]
    change_list_template = "admin/reports/dashboard/summary_change_list.html"

    gmv_cny = cny_column(DailySummary, "gmv")
    refunds_cny = cny_column(DailySummary, "refunds", pgettext_lazy("amount of money", "Refunded"))
    commissions_accrued_cny = cny_column(DailySummary, "commissions_accrued")

    def has_rebuild_permission(self, request) -> bool:
        return request.user.has_perm("reports.change_dailysummary")

    def get_urls(self):
        return [
            path(
                "rebuild/",
                self.admin_site.admin_view(self.rebuild_range_view),
                name="reports_dailysummary_rebuild",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_rebuild": self.has_rebuild_permission(request),
        }
        return super().changelist_view(request, extra_context)

    @admin.action(description=gettext_lazy("Rebuild these days"), permissions=["rebuild"])
    def rebuild_days(self, request, queryset):
        days = list(queryset.order_by("day").values_list("day", flat=True))
        for day in days:
            summaries.rebuild_day(day)
        self.message_user(
            request,
            ngettext("%(count)d day rebuilt.", "%(count)d days rebuilt.", len(days))
            % {"count": len(days)},
            messages.SUCCESS,
        )

    def rebuild_range_view(self, request):
        """A form with two dates; the days between are queued for the worker."""
        if not self.has_rebuild_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        if request.method == "POST":
            form = RebuildRangeForm(request.POST)
            if form.is_valid():
                queued = tasks.schedule_rebuild(
                    form.cleaned_data["start"], form.cleaned_data["end"]
                )
                self.message_user(
                    request,
                    ngettext(
                        "%(count)d day queued for rebuilding.",
                        "%(count)d days queued for rebuilding.",
                        queued,
                    )
                    % {"count": queued},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:reports_dailysummary_changelist"))
        else:
            form = RebuildRangeForm(initial={"start": today - timedelta(days=6), "end": today})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Rebuild daily summaries"),
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/reports/dashboard/rebuild_range.html", context)


from . import admin_exports  # noqa: E402, F401 - the exports list (reports.admin_exports)
