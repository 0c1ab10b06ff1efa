"""Reads of the distributor network."""

from django.db import connection

from .models import Distributor, DistributorApplication

MAX_CHAIN_DEPTH = 3  # the law's ceiling (禁止传销条例): never more than three tiers


def distributor_by_code(code: str) -> Distributor | None:
    if not code:
        return None
    return (
        Distributor.objects.select_related("user")
        .filter(invite_code=code.strip().upper(), status=Distributor.Status.ACTIVE)
        .first()
    )


def referral_chain_ids(distributor_id: int, depth: int = MAX_CHAIN_DEPTH) -> list[int]:
    """Ids of the distributor and its ancestors, nearest first, at most `depth`.

    One recursive query over parent links: unlike MPTT's get_ancestors() its
    cost depends on the depth asked for, not on the size of the tree.
    """
    sql = f"""
        WITH RECURSIVE chain(id, parent_id, depth) AS (
            SELECT id, parent_id, 1 FROM {Distributor._meta.db_table} WHERE id = %s
            UNION ALL
            SELECT d.id, d.parent_id, chain.depth + 1
            FROM {Distributor._meta.db_table} d JOIN chain ON d.id = chain.parent_id
            WHERE chain.depth < %s
        )
        SELECT id FROM chain ORDER BY depth
    """  # noqa: S608 - the only interpolation is our own table name
    with connection.cursor() as cursor:
        cursor.execute(sql, [distributor_id, depth])
        return [row[0] for row in cursor.fetchall()]


# --- Applications -------------------------------------------------------


def latest_application_of(user) -> DistributorApplication | None:
    return DistributorApplication.objects.filter(user=user).order_by("-created_at", "-pk").first()
