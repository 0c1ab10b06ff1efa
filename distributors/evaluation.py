"""Periodic evaluation (考核): does each distributor keep their grade?

Once a period (EvaluationSettings: a calendar month or quarter) has ended,
`run_evaluation` looks at every active distributor once:

- rises: their lifetime figures meet a higher grade's rules. The promotion is
  made at once by grades.evaluate_grade (a GradeChange "scheduled review"),
  exactly as the nightly review would make it;
- falls short: their grade asks for something to keep it (keep_* above 0)
  and their figures of the period miss it. The grade they would fall to is
  proposed, and staff confirm the demotion or waive it (`confirm_demotion`,
  `waive_demotion`); nothing is demoted without them;
- keeps: anything else. The starting grade (rank 0) never falls short.

Figures are read for the whole network in a few queries
(selectors.network_figures), so an evaluation of 100,000 distributors takes
seconds, not one query per distributor.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.days import span_bounds
from core.errors import ServiceError

from . import grades, selectors
from .models import (
    STARTING_RANK,
    Distributor,
    Evaluation,
    EvaluationResult,
    EvaluationSettings,
    Grade,
    GradeChange,
)

RESULT_BATCH = 2000  # rows per INSERT of results


class EvaluationError(ServiceError):
    """A decision on an evaluation result that cannot be made; the message is for staff."""


class AlreadyDecided(EvaluationError):
    pass


class GradeChangedSince(EvaluationError):
    pass


# --- Periods ---------------------------------------------------------------------------


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _period_start(period: str, day: date) -> date:
    """The first day of the period (month or quarter) that `day` is in."""
    if period == EvaluationSettings.Period.QUARTERLY:
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return _month_start(day)


def _next_period_start(period: str, start: date) -> date:
    months = 3 if period == EvaluationSettings.Period.QUARTERLY else 1
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


def current_period(settings: EvaluationSettings, today: date) -> tuple[date, date]:
    """(first day, last day) of the period `today` is in."""
    start = _period_start(settings.period, today)
    return start, _next_period_start(settings.period, start) - timedelta(days=1)


def last_period(settings: EvaluationSettings, today: date) -> tuple[date, date]:
    """(first day, last day) of the period that ended most recently before `today`:
    the previous calendar month, or the previous calendar quarter."""
    end = _period_start(settings.period, today) - timedelta(days=1)
    return _period_start(settings.period, end), end


def period_label(start: date, end: date) -> str:
    return f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"


# --- Running an evaluation ---------------------------------------------------------------


def run_evaluation(
    start: date, end: date, *, actor=None, now: datetime | None = None
) -> Evaluation:
    """Evaluate every active distributor over the days `start`..`end` (shop time).

    Guarantees:
    - once per period: the unique constraint on the period decides between two
      runs, also concurrent ones; a second run returns the first one's
      Evaluation and changes nothing;
    - all or nothing: the Evaluation, its results and the promotions commit
      together;
    - one EvaluationResult per distributor active at the time (suspended ones
      are left out), written in batches;
    - promotions go through grades.evaluate_grade (its row lock, its rules, a
      GradeChange of reason "review"); demotions only propose (decision
      pending) and wait for staff.

    Refuses (ValueError) a period that has not ended yet.
    """
    now = now or timezone.now()
    if end < start:
        raise ValueError("the period ends before it starts")
    if span_bounds(start, end)[1] > now:
        raise ValueError("the period has not ended yet")
    existing = _evaluation_of(start, end)
    if existing is not None:
        return existing
    with transaction.atomic():
        try:
            with transaction.atomic():
                evaluation = Evaluation.objects.create(
                    period_start=start, period_end=end, actor=actor, created_at=now
                )
        except IntegrityError:  # a concurrent run made it (and committed its results)
            return Evaluation.objects.get(period_start=start, period_end=end)
        _evaluate_everyone(evaluation, now)
    return evaluation


def _evaluation_of(start: date, end: date) -> Evaluation | None:
    return Evaluation.objects.filter(period_start=start, period_end=end).first()


def _evaluate_everyone(evaluation: Evaluation, now: datetime) -> None:
    ladder = list(Grade.objects.order_by("rank"))
    by_id = {grade.pk: grade for grade in ladder}
    members = list(
        Distributor.objects.filter(status=Distributor.Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", "grade_id")
    )
    lifetime = selectors.network_figures()
    period = selectors.network_figures(evaluation.period_start, evaluation.period_end)
    risen = _promote(evaluation, members, by_id, ladder, lifetime, now)
    results = []
    for pk, grade_id in members:
        grade = by_id.get(grade_id)
        figures = period[pk]
        outcome, proposed, decision = _judge(grade, figures, ladder)
        if pk in risen:
            outcome, proposed = EvaluationResult.Outcome.RISES, risen[pk]
            decision = EvaluationResult.Decision.NONE
        results.append(
            EvaluationResult(
                evaluation=evaluation,
                distributor_id=pk,
                grade=grade,
                personal_sales=figures.personal_sales,
                team_sales=figures.team_sales,
                direct_recruits=figures.direct_recruits,
                outcome=outcome,
                proposed_grade=proposed,
                decision=decision,
            )
        )
    EvaluationResult.objects.bulk_create(results, batch_size=RESULT_BATCH)


def _promote(evaluation, members, by_id, ladder, lifetime, now) -> dict[int, Grade]:
    """Promote those whose lifetime figures meet a higher grade: {distributor id: new grade}.

    The figures of the whole network only pick the candidates; each promotion
    is decided again by grades.evaluate_grade under the distributor's lock.
    """
    candidates = []
    for pk, grade_id in members:
        rank = by_id[grade_id].rank if grade_id in by_id else -1
        if any(g.rank > rank and lifetime[pk].meet(g) for g in ladder):
            candidates.append(pk)
    note = _("Evaluation %(period)s") % {
        "period": period_label(evaluation.period_start, evaluation.period_end)
    }
    risen = {}
    found = Distributor.objects.in_bulk(candidates)
    for distributor in (found[pk] for pk in candidates if pk in found):  # primary-key order
        change = grades.evaluate_grade(
            distributor, reason=GradeChange.Reason.REVIEW, note=note, now=now
        )
        if change is not None:
            risen[distributor.pk] = change.to_grade
    return risen


def is_evaluated(grade: Grade | None) -> bool:
    """Whether holders of `grade` can fall short: it asks for something to keep it
    (keep_* above 0) and is not the starting grade (rank 0), which nobody falls from."""
    return grade is not None and grade.rank != STARTING_RANK and grade.has_keep_conditions


def _judge(grade: Grade | None, figures: selectors.GradeFigures, ladder: list[Grade]):
    """(outcome, proposed grade, decision) of one distributor's period figures."""
    keeps = (EvaluationResult.Outcome.KEEPS, None, EvaluationResult.Decision.NONE)
    if not is_evaluated(grade):
        return keeps
    if figures.keep(grade):
        return keeps
    lower = [g for g in reversed(ladder) if g.rank < grade.rank]
    if not lower:
        return keeps
    proposed = next((g for g in lower if g.rank == STARTING_RANK or figures.keep(g)), lower[-1])
    return (EvaluationResult.Outcome.FALLS_SHORT, proposed, EvaluationResult.Decision.PENDING)


def evaluate_last_period(*, today: date | None = None, now: datetime | None = None):
    """The scheduled evaluation: the period that ended most recently, once.

    Does nothing when EvaluationSettings.is_enabled is off or that period is
    already evaluated; run daily, it evaluates each period on the first day
    after it ends (or the first day the task runs after that). Returns the
    Evaluation it made, or None.
    """
    settings = EvaluationSettings.get_solo()
    if not settings.is_enabled:
        return None
    start, end = last_period(settings, today or timezone.localdate())
    if Evaluation.objects.filter(period_start=start, period_end=end).exists():
        return None
    return run_evaluation(start, end, now=now)


# --- Staff decisions -----------------------------------------------------------------------


def confirm_demotion(
    result: EvaluationResult, *, actor, now: datetime | None = None
) -> GradeChange:
    """Demote the distributor of a result that fell short to its proposed grade.

    Guarantees: under the distributor's row lock (as grades.set_grade), the
    result is claimed with a conditional update (pending -> demoted), so a
    double click or two staff at once demote once; the grade change is a
    GradeChange of reason "evaluation" naming the period, with the period's
    figures, by `actor`. Refuses, changing nothing, a result already decided
    (AlreadyDecided) and one whose distributor's grade changed since the
    evaluation (GradeChangedSince: the proposal no longer fits).
    """
    now = now or timezone.now()
    with transaction.atomic():
        distributor, result = _claim(result, EvaluationResult.Decision.DEMOTED, actor, now)
        return grades.record_grade(
            distributor,
            result.proposed_grade,
            GradeChange.Reason.EVALUATION,
            _demotion_note(result),
            result,
            actor=actor,
            now=now,
        )


def waive_demotion(
    result: EvaluationResult, *, actor, now: datetime | None = None
) -> EvaluationResult:
    """Staff keep the grade of a distributor who fell short (pending -> waived).

    Same claim, lock and refusals as confirm_demotion; the grade stays as it is
    and the result records who decided and when.
    """
    now = now or timezone.now()
    with transaction.atomic():
        return _claim(result, EvaluationResult.Decision.WAIVED, actor, now)[1]


def _claim(result, decision, actor, now) -> tuple[Distributor, EvaluationResult]:
    distributor = (
        Distributor.objects.select_for_update(of=("self",))
        .select_related("grade", "user")
        .get(pk=result.distributor_id)
    )
    result = EvaluationResult.objects.select_related("evaluation", "proposed_grade").get(
        pk=result.pk
    )
    who = distributor.user.get_username()
    if result.decision != EvaluationResult.Decision.PENDING:
        raise AlreadyDecided(
            _("%(who)s: nothing is waiting for a decision (%(decision)s).")
            % {"who": who, "decision": result.get_decision_display()}
        )
    if distributor.grade_id != result.grade_id:
        raise GradeChangedSince(
            _(
                "%(who)s: the grade changed since the evaluation (now %(grade)s); "
                "nothing was done. The next evaluation looks again."
            )
            % {"who": who, "grade": distributor.grade.display_name if distributor.grade else "—"}
        )
    claimed = EvaluationResult.objects.filter(
        pk=result.pk, decision=EvaluationResult.Decision.PENDING
    ).update(decision=decision, decided_by=actor, decided_at=now)
    if not claimed:  # decided by someone else since we read it
        raise AlreadyDecided(_("%(who)s: already decided.") % {"who": who})
    result.decision, result.decided_by, result.decided_at = decision, actor, now
    return distributor, result


def _demotion_note(result: EvaluationResult) -> str:
    evaluation = result.evaluation
    return _("Keeping conditions of %(period)s not met") % {
        "period": period_label(evaluation.period_start, evaluation.period_end)
    }


@dataclass
class Decisions:
    """What a batch of decisions did: the results decided, and why the others were not."""

    done: list = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def confirm_demotions(results, *, actor, now: datetime | None = None) -> Decisions:
    """confirm_demotion on each result, in primary-key order, each in its own
    transaction (a refusal leaves the others alone). Safe to repeat."""
    return _each(results, lambda r: confirm_demotion(r, actor=actor, now=now))


def waive(results, *, actor, now: datetime | None = None) -> Decisions:
    """waive_demotion on each result, like confirm_demotions."""
    return _each(results, lambda r: waive_demotion(r, actor=actor, now=now))


def _each(results, decide) -> Decisions:
    decisions = Decisions()
    for result in sorted(results, key=lambda r: r.pk):
        try:
            decisions.done.append(decide(result))
        except EvaluationError as exc:
            decisions.refused.append(str(exc))
    return decisions


# --- What the distributor sees ------------------------------------------------------------------


@dataclass(frozen=True)
class KeepCondition:
    """One keeping condition of a grade, and how far the distributor is."""

    label: str
    required: object
    reached: object
    is_money: bool

    @property
    def missing(self):
        return max(self.required - self.reached, 0)

    @property
    def is_met(self) -> bool:
        return self.reached >= self.required

    @property
    def percent(self) -> int:
        if self.is_met:
            return 100
        return int(self.reached * 100 / self.required)


@dataclass(frozen=True)
class KeepProgress:
    start: date
    end: date
    days_left: int
    conditions: list[KeepCondition]

    @property
    def all_met(self) -> bool:
        return all(c.is_met for c in self.conditions)


def keep_progress(distributor: Distributor, *, today: date | None = None) -> KeepProgress | None:
    """The distributor's current period so far against their grade's keeping
    conditions, or None when their grade asks for nothing to keep it.
    Three queries (settings, sales, recruits)."""
    grade = distributor.grade
    if not is_evaluated(grade):
        return None
    today = today or timezone.localdate()
    start, end = current_period(EvaluationSettings.get_solo(), today)
    figures = selectors.period_figures(distributor, start, end)
    wanted = [
        (_("Personal sales"), grade.keep_personal_sales, figures.personal_sales, True),
        (_("Team sales"), grade.keep_team_sales, figures.team_sales, True),
        (_("New direct recruits"), grade.keep_direct_recruits, figures.direct_recruits, False),
    ]
    return KeepProgress(
        start=start,
        end=end,
        days_left=(end - today).days + 1,
        conditions=[KeepCondition(*row) for row in wanted if row[1]],
    )
