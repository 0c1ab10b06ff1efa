"""Celery tasks of the network: thin, idempotent wrappers around services.

Grade evaluation never demotes and promotes once under the distributor's row
lock, so running a task again (a redelivery, a retry) changes nothing more.
"""

from celery import shared_task

from core.task_policy import RETRY_POLICY

from . import selectors, services

NIGHTLY_CHUNK = 200  # distributors per task: each chunk stays far below the time limit


@shared_task(name="distributors.tasks.evaluate_grades_after_order", **RETRY_POLICY)
def evaluate_grades_after_order(order_id: int) -> int:
    return services.evaluate_grades_after_order(order_id)


@shared_task(name="distributors.tasks.evaluate_grades", **RETRY_POLICY)
def evaluate_grades(distributor_ids: list[int]) -> int:
    return services.evaluate_grades(distributor_ids)


@shared_task(name="distributors.tasks.evaluate_all_grades", **RETRY_POLICY)
def evaluate_all_grades() -> int:
    """The nightly review: fan out one task per chunk of distributors who could
    still be promoted. Returns how many distributors it scheduled."""
    ids = selectors.ids_below_top_grade()
    for start in range(0, len(ids), NIGHTLY_CHUNK):
        evaluate_grades.delay(ids[start : start + NIGHTLY_CHUNK])
    return len(ids)
