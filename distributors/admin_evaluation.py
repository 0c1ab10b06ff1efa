"""The back office of periodic evaluations (考核): evaluations, their results, the settings.

Results are written by distributors.evaluation only; staff decide the pending
demotions here with two actions that call its services.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy
from django.views.decorators.http import require_POST

from core.admin import ReadOnlyAdmin, SingletonAdmin, run_for_each
from core.money import format_cny

from . import evaluation
from .models import Evaluation, EvaluationResult, EvaluationSettings, Grade

Outcome, Decision = EvaluationResult.Outcome, EvaluationResult.Decision

OUTCOME_BADGES = {
    Outcome.KEEPS: "badge-success",
    Outcome.RISES: "badge-info",
    Outcome.FALLS_SHORT: "badge-warning",
}
DECISION_BADGES = {
    Decision.PENDING: "badge-warning",
    Decision.DEMOTED: "badge-danger",
    Decision.WAIVED: "badge-success",
}


def keep_conditions(grade: Grade | None) -> str:
    """A grade's keeping conditions: "personal ¥500.00 · 1 new recruits", or "—"."""
    if grade is None or not grade.has_keep_conditions:
        return "—"
    parts = []
    if grade.keep_personal_sales:
        parts.append(_("personal %(amount)s") % {"amount": format_cny(grade.keep_personal_sales)})
    if grade.keep_team_sales:
        parts.append(_("team %(amount)s") % {"amount": format_cny(grade.keep_team_sales)})
    if grade.keep_direct_recruits:
        parts.append(_("%(count)d new recruits") % {"count": grade.keep_direct_recruits})
    return " · ".join(parts)


def _against(figure, grade: Grade | None, keep_field: str, shown) -> str:
    """A figure and, when the grade asks for one to keep it, "/ required" under it,
    marked met or missed (the starting grade asks for nothing: it is never evaluated)."""
    required = getattr(grade, keep_field) if evaluation.is_evaluated(grade) else 0
    if not required:
        return format_html('<span class="money">{}</span>', shown(figure))
    return format_html(
        '<span class="money">{}</span><br><span class="keep {}" title="{}">/ {}</span>',
        shown(figure),
        "keep-met" if figure >= required else "keep-missed",
        _("to keep the grade"),
        shown(required),
    )


def results_url(**filters) -> str:
    return reverse("admin:distributors_evaluationresult_changelist") + "?" + urlencode(filters)


class EvaluationAdmin(ReadOnlyAdmin):
    """Each period's evaluation with its counts; a count opens the results it counts."""

    change_list_template = "admin/distributors/evaluation/change_list.html"
    list_display = (
        "period",
        "keeps",
        "rises",
        "falls_short",
        "pending",
        "created_at",
        "actor",
    )
    list_display_links = None
    list_select_related = ("actor",)

    def get_queryset(self, request):
        def count(**where):
            return Count("results", filter=Q(**{f"results__{k}": v for k, v in where.items()}))

        return (
            super()
            .get_queryset(request)
            .annotate(
                n_keeps=count(outcome=Outcome.KEEPS),
                n_rises=count(outcome=Outcome.RISES),
                n_falls_short=count(outcome=Outcome.FALLS_SHORT),
                n_pending=count(decision=Decision.PENDING),
            )
        )

    def get_urls(self):
        return [
            path(
                "evaluate-last-period/",
                self.admin_site.admin_view(self.evaluate_last_period_view),
                name="distributors_evaluation_run",
            ),
            *super().get_urls(),
        ]

    def has_run_permission(self, request) -> bool:
        return request.user.has_perm("distributors.add_evaluation")

    def changelist_view(self, request, extra_context=None):
        settings = EvaluationSettings.get_solo()
        start, end = evaluation.last_period(settings, timezone.localdate())
        extra_context = {
            **(extra_context or {}),
            "can_run": self.has_run_permission(request),
            "last_period": evaluation.period_label(start, end),
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description=gettext_lazy("period"), ordering="period_start")
    def period(self, obj):
        return format_html(
            '<a href="{}">{}</a>',
            results_url(evaluation__id__exact=obj.pk),
            evaluation.period_label(obj.period_start, obj.period_end),
        )

    def _count_link(self, obj, value, **filters):
        if not value:
            return "0"
        return format_html(
            '<a href="{}">{}</a>', results_url(evaluation__id__exact=obj.pk, **filters), value
        )

    @admin.display(description=gettext_lazy("keeps"), ordering="n_keeps")
    def keeps(self, obj):
        return self._count_link(obj, obj.n_keeps, outcome__exact=Outcome.KEEPS)

    @admin.display(description=gettext_lazy("rises"), ordering="n_rises")
    def rises(self, obj):
        return self._count_link(obj, obj.n_rises, outcome__exact=Outcome.RISES)

    @admin.display(description=gettext_lazy("falls short"), ordering="n_falls_short")
    def falls_short(self, obj):
        return self._count_link(obj, obj.n_falls_short, outcome__exact=Outcome.FALLS_SHORT)

    @admin.display(description=gettext_lazy("waiting for staff"), ordering="n_pending")
    def pending(self, obj):
        return self._count_link(obj, obj.n_pending, decision__exact=Decision.PENDING)

    def evaluate_last_period_view(self, request):
        """POST: evaluate the period that ended most recently, now (once per period)."""
        return require_POST(self._evaluate_last_period)(request)

    def _evaluate_last_period(self, request):
        if not self.has_run_permission(request):
            raise PermissionDenied
        start, end = evaluation.last_period(EvaluationSettings.get_solo(), timezone.localdate())
        label = evaluation.period_label(start, end)
        existed = Evaluation.objects.filter(period_start=start, period_end=end).exists()
        done = evaluation.run_evaluation(start, end, actor=request.user)
        if existed:
            self.message_user(
                request,
                _("%(period)s was already evaluated; nothing changed.") % {"period": label},
                messages.INFO,
            )
        else:
            self.message_user(
                request, _("%(period)s evaluated.") % {"period": label}, messages.SUCCESS
            )
        return HttpResponseRedirect(results_url(evaluation__id__exact=done.pk))


class EvaluationResultAdmin(ReadOnlyAdmin):
    """Every distributor's figures in an evaluation; the pending demotions are
    confirmed or waived with the actions (evaluation.confirm_demotion / waive_demotion)."""

    change_list_template = "admin/distributors/evaluationresult/change_list.html"
    list_display = (
        "distributor_link",
        "grade_shown",
        "personal_sales_cny",
        "team_sales_cny",
        "recruits_shown",
        "outcome_badge",
    )
    list_display_links = None
    list_filter = ("evaluation", "outcome", "decision", "grade")
    search_fields = ("distributor__user__username", "distributor__invite_code")
    list_select_related = ("distributor__user", "grade", "proposed_grade", "decided_by")
    actions = ["confirm_demotion", "waive_demotion"]

    # Each figure of the period with, under it, what the grade asks for to keep it
    # (保级条件), marked when missed: the row reads across at 1280 px.
    @admin.display(
        description=EvaluationResult._meta.get_field("personal_sales").verbose_name,
        ordering="personal_sales",
    )
    def personal_sales_cny(self, obj):
        return _against(obj.personal_sales, obj.grade, "keep_personal_sales", format_cny)

    @admin.display(
        description=EvaluationResult._meta.get_field("team_sales").verbose_name,
        ordering="team_sales",
    )
    def team_sales_cny(self, obj):
        return _against(obj.team_sales, obj.grade, "keep_team_sales", format_cny)

    @admin.display(description=gettext_lazy("new recruits"), ordering="direct_recruits")
    def recruits_shown(self, obj):
        return _against(obj.direct_recruits, obj.grade, "keep_direct_recruits", str)

    def has_decide_permission(self, request) -> bool:
        return request.user.has_perm("distributors.change_evaluationresult")

    @admin.display(description=gettext_lazy("distributor"), ordering="distributor__user__username")
    def distributor_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:distributors_distributor_change", args=[obj.distributor_id]),
            obj.distributor.user.get_username(),
        )

    @admin.display(description=gettext_lazy("grade"), ordering="grade__rank")
    def grade_shown(self, obj):
        """The grade evaluated and, under it, the one proposed (rises to, would fall to)."""
        name = obj.grade.display_name if obj.grade else "—"
        if obj.proposed_grade is None:
            return name
        return format_html(
            '{}<br><span class="proposed" title="{}">→ {}</span>',
            name,
            EvaluationResult._meta.get_field("proposed_grade").verbose_name,
            obj.proposed_grade.display_name,
        )

    @admin.display(description=gettext_lazy("outcome and decision"), ordering="outcome")
    def outcome_badge(self, obj):
        """The outcome and, under it, the staff decision it waits for or got (who, when)."""
        outcome = format_html(
            '<span class="badge {}">{}</span>',
            OUTCOME_BADGES[obj.outcome],
            obj.get_outcome_display(),
        )
        if obj.decision == Decision.NONE:
            return outcome
        decision = format_html(
            '<span class="badge {}">{}</span>',
            DECISION_BADGES[obj.decision],
            obj.get_decision_display(),
        )
        if obj.decided_at is None:
            return format_html("{}<br>{}", outcome, decision)
        return format_html(
            '{}<br>{}<br><span class="quiet">{} {}</span>',
            outcome,
            decision,
            obj.decided_by.get_username() if obj.decided_by else "",
            timezone.localtime(obj.decided_at).strftime("%Y-%m-%d"),
        )

    def _decide(self, request, queryset, decide, done_message):
        pending = queryset.filter(decision=Decision.PENDING)
        skipped = queryset.count() - pending.count()
        if skipped:
            self.message_user(
                request,
                ngettext_lazy(
                    "%(count)d selected result had no demotion waiting and was left as it is.",
                    "%(count)d selected results had no demotion waiting and were left as they are.",
                    "count",
                )
                % {"count": skipped},
                messages.INFO,
            )
        run_for_each(
            self,
            request,
            pending.order_by("pk"),
            lambda result: decide(result, actor=request.user),
            done_message,
            refused=evaluation.EvaluationError,
            level=messages.WARNING,
        )

    @admin.action(
        description=gettext_lazy("Confirm the demotion of the selected"), permissions=["decide"]
    )
    def confirm_demotion(self, request, queryset):
        self._decide(
            request,
            queryset,
            evaluation.confirm_demotion,
            ngettext_lazy(
                "%(count)d distributor demoted.", "%(count)d distributors demoted.", "count"
            ),
        )

    @admin.action(
        description=gettext_lazy("Keep the grade of the selected (waive)"), permissions=["decide"]
    )
    def waive_demotion(self, request, queryset):
        self._decide(
            request,
            queryset,
            evaluation.waive_demotion,
            ngettext_lazy(
                "%(count)d distributor keeps the grade.",
                "%(count)d distributors keep their grade.",
                "count",
            ),
        )


class EvaluationSettingsAdmin(SingletonAdmin):
    fields = ("period", "is_enabled")
