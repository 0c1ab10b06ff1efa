"""Demo keeping conditions (保级条件) for `seed_demo`: what Silver and Gold ask for
within each evaluation period. Idempotent: a grade that already asks for something
to keep it (or that the merchant changed) is left as it is."""

from decimal import Decimal

from .models import STARTING_RANK, Grade

# rank: (personal sales, team sales, new direct recruits) within one period
KEEP_CONDITIONS = {
    1: (Decimal("300.00"), Decimal("0.00"), 0),
    2: (Decimal("1000.00"), Decimal("3000.00"), 1),
}


def seed_keep_conditions() -> int:
    """Give the demo grades above rank 0 their keeping conditions; returns how many."""
    changed = 0
    for grade in Grade.objects.filter(rank__gt=STARTING_RANK, rank__in=KEEP_CONDITIONS):
        if grade.has_keep_conditions:
            continue
        personal, team, recruits = KEEP_CONDITIONS[grade.rank]
        changed += Grade.objects.filter(pk=grade.pk).update(
            keep_personal_sales=personal, keep_team_sales=team, keep_direct_recruits=recruits
        )
    return changed


def seed_evaluation() -> int:
    """Evaluate the period that ended last, once (after the demo's order history, so its
    figures mean something); returns the number of distributors evaluated."""
    from .evaluation import evaluate_last_period

    made = evaluate_last_period()
    return made.results.count() if made is not None else 0
