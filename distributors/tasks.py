from celery import shared_task
from django.core.cache import cache

from core.task_policy import RETRY_POLICY

from . import tree


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
