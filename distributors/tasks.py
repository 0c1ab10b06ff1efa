"""Celery tasks of the network: thin, idempotent wrappers around services.

Placing members renumbers from parent links under the tree lock, and grade
evaluation never demotes and promotes once under the distributor's row lock,
so running a task again (a redelivery, a retry) changes nothing more.
"""

from celery import shared_task
from django.core.cache import cache

from core.task_policy import RETRY_POLICY

from . import evaluation, grades, selectors, tree

NIGHTLY_CHUNK = 200  # distributors per task: each chunk stays far below the time limit


@shared_task(name="distributors.tasks.place_new_members", **RETRY_POLICY)
def place_new_members(tree_id: int) -> int:
    """Renumber one tree for the members who joined since the last placement."""
    # Cleared before reading the tree: a join committing from now on schedules
    # a placement of its own, so nobody is left unplaced.
    cache.delete(tree.SCHEDULE_KEY.format(tree_id=tree_id))
    return tree.place_nodes(tree_id).newly_placed


@shared_task(name="distributors.tasks.place_unplaced_members", **RETRY_POLICY)
def place_unplaced_members() -> int:
    """Safety net (beat): place every tree someone is still waiting in."""
    return sum(
        tree.place_nodes(tree_id).newly_placed for tree_id in tree.trees_with_unplaced_members()
    )


@shared_task(name="distributors.tasks.evaluate_grades_after_order", **RETRY_POLICY)
def evaluate_grades_after_order(order_id: int) -> int:
    return grades.evaluate_grades_after_order(order_id)


@shared_task(name="distributors.tasks.evaluate_grades", **RETRY_POLICY)
def evaluate_grades(distributor_ids: list[int]) -> int:
    return grades.evaluate_grades(distributor_ids)


@shared_task(name="distributors.tasks.evaluate_all_grades", **RETRY_POLICY)
def evaluate_all_grades() -> int:
    """The nightly review: fan out one task per chunk of distributors who could
    still be promoted. Returns how many distributors it scheduled."""
    ids = selectors.ids_below_top_grade()
    for start in range(0, len(ids), NIGHTLY_CHUNK):
        evaluate_grades.delay(ids[start : start + NIGHTLY_CHUNK])
    return len(ids)


@shared_task(name="distributors.tasks.evaluate_ended_period", **RETRY_POLICY)
def evaluate_ended_period() -> int | None:
    """Daily (beat): evaluate the period that just ended, once (EvaluationSettings
    decides the period and whether to run at all). Returns the evaluation's id,
    or None when there was nothing to do."""
    made = evaluation.evaluate_last_period()
    return made.pk if made is not None else None
