"""Grades (分销等级): promotion by the grade rules, and by staff.

A grade changes by a queryset update under the distributor's row lock (never
by saving a Distributor: its save() is django-mptt's tree machinery), and each
change leaves a GradeChange with the figures it was decided on.
"""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from core import outbox
from notifications.models import Kind
from notifications.services import notify
from orders.models import Order

from . import selectors
from .models import Distributor, Grade, GradeChange


@transaction.atomic
def evaluate_grade(
    distributor: Distributor,
    *,
    reason: str = GradeChange.Reason.REVIEW,
    note: str = "",
    now: datetime | None = None,
) -> GradeChange | None:
    """Promote `distributor` to the highest grade whose rules they meet.

    Never demotes (only staff do, with set_grade). Suspended distributors are
    left as they are. Locks the distributor row, so concurrent evaluations
    promote once; returns the GradeChange made, or None.
    """
    return _evaluate_grade_of(distributor.pk, reason=reason, note=note, now=now)


def _evaluate_grade_of(pk: int, *, reason: str, note: str, now: datetime | None):
    distributor = (
        Distributor.objects.select_for_update(of=("self",)).select_related("grade").get(pk=pk)
    )
    if not distributor.is_active:
        return None
    current_rank = distributor.grade.rank if distributor.grade else -1
    higher = list(Grade.objects.filter(rank__gt=current_rank).order_by("-rank"))
    if not higher:
        return None
    figures = selectors.grade_figures(distributor)
    target = next((grade for grade in higher if figures.meet(grade)), None)
    if target is None:
        return None
    return record_grade(distributor, target, reason, note, figures, actor=None, now=now)


@transaction.atomic
def set_grade(
    distributor: Distributor, grade: Grade | None, *, actor, note: str = ""
) -> GradeChange | None:
    """Staff set a grade by hand (also down); recorded like a promotion."""
    distributor = (
        Distributor.objects.select_for_update(of=("self",))
        .select_related("grade")
        .get(pk=distributor.pk)
    )
    if grade is None or distributor.grade_id == grade.pk:
        return None
    figures = selectors.grade_figures(distributor)
    return record_grade(
        distributor, grade, GradeChange.Reason.STAFF, note, figures, actor=actor, now=None
    )


def record_grade(distributor, grade, reason, note, figures, *, actor, now) -> GradeChange:
    """Move `distributor` (locked by the caller) to `grade` and record why, with the
    figures it was decided on (anything with personal_sales, team_sales and
    direct_recruits): the one writer of a grade. Tells the distributor, up or
    down (key grade_change:<id>)."""
    Distributor.objects.filter(pk=distributor.pk).update(grade=grade)
    change = GradeChange.objects.create(
        distributor=distributor,
        from_grade=distributor.grade,
        to_grade=grade,
        reason=reason,
        note=note[:255],
        personal_sales=figures.personal_sales,
        team_sales=figures.team_sales,
        direct_recruits=figures.direct_recruits,
        actor=actor,
        created_at=now or timezone.now(),
    )
    old = distributor.grade
    notify(
        get_user_model()
        .objects.select_related("notification_settings")
        .get(distributor__pk=distributor.pk),
        Kind.GRADE_CHANGED,
        key=f"grade_change:{change.pk}",
        context={"change": change, "promoted": old is None or grade.rank > old.rank},
        link=reverse("distributors:dashboard"),
        data={"grade_change": change.pk},
    )
    return change


def schedule_grade_evaluation(order) -> None:
    """Once the current transaction commits, re-evaluate the grades of the
    order's distributor and everyone above them (their team sales grew)."""
    if order.distributor_id is None:
        return
    from .tasks import evaluate_grades_after_order

    outbox.enqueue(evaluate_grades_after_order, order.pk)


def evaluate_grades_after_order(order_id: int) -> int:
    """Evaluate the attributed distributor of an order and their ancestors.

    Each evaluation is its own transaction; safe to run again. Returns the
    number of promotions.
    """
    order = Order.objects.filter(pk=order_id).only("number", "distributor_id").first()
    if order is None or order.distributor_id is None:
        return 0
    ids = selectors.upline_ids(order.distributor_id)
    return evaluate_grades(ids, reason=GradeChange.Reason.ORDER_COMPLETED, note=order.number)


def evaluate_grades(
    distributor_ids: list[int], *, reason: str = GradeChange.Reason.REVIEW, note: str = ""
) -> int:
    """Evaluate each of `distributor_ids`; returns the number of promotions."""
    promoted = 0
    for pk in distributor_ids:
        try:
            with transaction.atomic():
                change = _evaluate_grade_of(pk, reason=reason, note=note, now=None)
        except Distributor.DoesNotExist:
            continue
        promoted += change is not None
    return promoted
