"""Admin of marketing: sales contests (销售竞赛) and the leaderboard settings (排行榜)."""

import csv

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import (
    ObjectViewsMixin,
    ReadOnlyInline,
    SingletonAdmin,
    csv_download,
    excel_safe,
)
from core.money import format_cny

from .. import contests
from ..models import Contest, ContestAward, ContestPrize, LeaderboardSettings, Metric

STANDINGS_SHOWN = 20  # the standings page; the CSV has everyone


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _figure(contest: Contest, value) -> str:
    return format_cny(value) if contest.metric == Metric.SALES else str(value)


class ContestPrizeInline(admin.TabularInline):
    """The prizes; ContestPrize.clean refuses a rank prize without its rank, a target
    prize without its target and a prize of nothing, on the row's field. Fixed once
    the contest is settled (its awards name them)."""

    model = ContestPrize
    extra = 1
    fields = ("kind", "rank_from", "rank_to", "target", "cash", "description")
    # The rows without their __str__ above them (a prize's text is its last column).
    template = "admin/edit_inline/tabular_records.html"
    formfield_overrides = {
        # Boxes as narrow as the ranks' (no spinner to hide the digits), so that a row
        # fits beside the admin's menu.
        models.DecimalField: {
            "widget": forms.TextInput(attrs={"class": "vIntegerField", "inputmode": "decimal"})
        },
    }

    def _is_open(self, obj) -> bool:
        return obj is None or obj.settled_at is None

    def has_add_permission(self, request, obj=None):
        return self._is_open(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._is_open(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._is_open(obj) and super().has_delete_permission(request, obj)


class ContestAwardInline(ReadOnlyInline):
    model = ContestAward
    fields = ("rank", "distributor_link", "value_shown", "prize_shown", "cash_cny", "awarded_at")
    readonly_fields = fields
    verbose_name_plural = gettext_lazy("awards (made when the contest was settled)")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("distributor__user", "prize", "bonus", "contest")
        )

    @admin.display(description=gettext_lazy("distributor"))
    def distributor_link(self, award):
        return _distributor_link(award.distributor_id, award.distributor.user.get_username())

    @admin.display(description=gettext_lazy("result"))
    def value_shown(self, award):
        value = award.value if award.contest.metric == Metric.SALES else int(award.value)
        return _figure(award.contest, value)

    @admin.display(description=gettext_lazy("prize"))
    def prize_shown(self, award):
        return prize_label(award.prize)

    @admin.display(description=gettext_lazy("cash paid"))
    def cash_cny(self, award):
        if award.bonus is None:
            return "-"
        return format_html('<span class="money">{}</span>', format_cny(award.bonus.amount))


def _distributor_link(distributor_id: int, label: str) -> str:
    return format_html(
        '<a href="{}">{}</a>',
        reverse("admin:distributors_distributor_change", args=[distributor_id]),
        label,
    )


class StatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return contests.Status.choices()

    def queryset(self, request, queryset):
        if self.value() in contests.Status.labels:
            return contests.in_status(queryset, self.value())
        return queryset


@admin.register(Contest)
class ContestAdmin(ObjectViewsMixin, admin.ModelAdmin):
    """Contests are edited here until they are settled; the settlement task (every
    10 minutes) awards the prizes once after the end. The standings page shows the
    top of the live figures; the CSVs have the whole standings and the awards."""

    list_display = ("name", "status", "period", "metric", "is_active", "prize_count")
    list_display_links = ("name",)
    list_filter = (StatusFilter, "metric", "is_active")
    search_fields = ("name", "name_en")
    date_hierarchy = "starts_at"
    filter_horizontal = ("grades",)
    actions = ["export_awards_csv"]
    fieldsets = (
        (None, {"fields": ("name", "name_en", "description", "is_active")}),
        (
            gettext_lazy("Rules"),
            {"fields": ("metric", "starts_at", "ends_at", "grades", "settled_at")},
        ),
    )
    change_form_template = "admin/marketing/contest/change_form.html"
    object_views = (
        ("standings", "standings_view", "standings"),
        ("standings.csv", "standings_csv", "standings_csv"),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("prizes")

    def get_inlines(self, request, obj):
        # Awards exist once the contest is settled; before that the table is empty.
        if obj is not None and obj.settled_at is not None:
            return [ContestPrizeInline, ContestAwardInline]
        return [ContestPrizeInline]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.settled_at is not None:
            # The awards were made from these: changing them would make them lie.
            return ("metric", "starts_at", "ends_at", "grades", "settled_at")
        return ("settled_at",)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.settled_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    @admin.display(description=gettext_lazy("status"))
    def status(self, contest):
        status = contests.status_of(contest)
        css = {
            contests.Status.RUNNING: "badge-success",
            contests.Status.UPCOMING: "badge-warning",
        }.get(status, "badge-muted")
        return format_html('<span class="badge {}">{}</span>', css, contests.Status.labels[status])

    @admin.display(description=gettext_lazy("period"), ordering="starts_at")
    def period(self, contest):
        return format_html("{} –<br>{}", _local(contest.starts_at), _local(contest.ends_at))

    @admin.display(description=gettext_lazy("prizes"))
    def prize_count(self, contest):
        return len(contest.prizes.all())

    # --- Standings --------------------------------------------------------------

    def _contest(self, request, pk) -> Contest:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(Contest.objects.prefetch_related("grades", "prizes"), pk=pk)

    def standings_view(self, request, pk):
        """The top STANDINGS_SHOWN of the contest's figures now (final once settled)."""
        contest = self._contest(request, pk)
        entries = contests.full_standings(contest, limit=STANDINGS_SHOWN)
        won = _awards_by_distributor(contest)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": contest,
            "title": _("Standings of %(contest)s") % {"contest": contest},
            "status": contests.Status.labels[contests.status_of(contest)],
            "rows": [
                (
                    entry,
                    _distributor_link(entry.distributor_id, entry.username),
                    _figure(contest, entry.value),
                    _local(entry.reached),
                    "; ".join(won.get(entry.distributor_id, [])),
                )
                for entry in entries
            ],
            "shown": STANDINGS_SHOWN,
        }
        return TemplateResponse(request, "admin/marketing/contest/standings.html", context)

    def standings_csv(self, request, pk):
        """Everyone with a figure, ranked, with what they were awarded."""
        contest = self._contest(request, pk)
        won = _awards_by_distributor(contest)
        response = csv_download(f"contest-{contest.pk}-standings")
        writer = csv.writer(response)
        writer.writerow(
            [
                _("Rank"),
                _("Distributor ID"),
                _("Username"),
                _("Name"),
                _("Result"),
                _("Reached at"),
                _("Prizes"),
            ]
        )
        for entry in contests.full_standings(contest):
            writer.writerow(
                [
                    entry.rank,
                    entry.distributor_id,
                    excel_safe(entry.username),
                    excel_safe(entry.first_name),
                    entry.value,
                    _local(entry.reached),
                    excel_safe("; ".join(won.get(entry.distributor_id, []))),
                ]
            )
        return response

    @admin.action(description=gettext_lazy("Export the awards of selected contests as CSV"))
    def export_awards_csv(self, request, queryset):
        awards = (
            ContestAward.objects.filter(contest__in=queryset)
            .select_related("contest", "prize", "distributor__user", "bonus")
            .order_by("contest_id", "rank", "pk")
        )
        if not awards.exists():
            self.message_user(
                request,
                _("The selected contests have no awards: they are not settled yet."),
                messages.WARNING,
            )
            return None
        response = csv_download("contest-awards")
        writer = csv.writer(response)
        writer.writerow(
            [
                _("Contest"),
                _("Rank"),
                _("Distributor ID"),
                _("Username"),
                _("Result"),
                _("Prize"),
                _("Cash paid"),
                _("Awarded at"),
            ]
        )
        for award in awards:
            writer.writerow(
                [
                    excel_safe(award.contest),
                    award.rank,
                    award.distributor_id,
                    excel_safe(award.distributor.user.get_username()),
                    award.value,
                    excel_safe(prize_label(award.prize)),
                    award.bonus.amount if award.bonus else "",
                    _local(award.awarded_at),
                ]
            )
        return response


def prize_label(prize: ContestPrize) -> str:
    """What a prize is: ¥888.00, a description, or both."""
    cash = format_cny(prize.cash) if prize.cash else ""
    return " + ".join(part for part in (cash, prize.description) if part)


def _awards_by_distributor(contest: Contest) -> dict[int, list[str]]:
    won: dict[int, list[str]] = {}
    for award in contest.awards.select_related("prize"):
        won.setdefault(award.distributor_id, []).append(prize_label(award.prize))
    return won


@admin.register(LeaderboardSettings)
class LeaderboardSettingsAdmin(SingletonAdmin):
    """Which leaderboards distributors see; a board turned off says so at its address."""

    fields = ("shows_sales", "shows_recruits")
