"""Customer figures and automatic segments (客户分群), kept on CustomerProfile.

`segment_of` is the rule, a pure function of a customer's figures, the
merchant's thresholds and the time. `refresh_profiles` applies it to every
customer (nightly, from crm.tasks) or to a few (a customer's page, when their
profile is missing), in batches of users taken in primary-key order. Each
batch costs a fixed number of statements whatever its customers bought: one to
take the batch's ids, one aggregate of their orders grouped by customer, one
read of their profiles, then a bulk insert of the missing profiles, a bulk
update of those whose figures or segment changed and one stamp of
`computed_at`. Measured with 100,000 customers and 200,000 orders: on SQLite
8 s for the first run (every profile created) and 6.5 s for the next (nothing
changed); on PostgreSQL 13 s for either, about 0.3 s per batch of 2,000 (the
nightly task's unit). tests/crm/test_segments.py bounds the statements per batch.

Refreshing is idempotent: a second run with the same orders and time writes
the same figures, and `segment_since` moves only when the segment changes.
Each batch commits on its own, so a run cut short leaves finished batches
refreshed and the next run does the rest.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from core.money import ZERO, from_db_sum, to_cents
from orders.models import Order

from .models import CustomerProfile, Segment, SegmentSettings

BATCH_SIZE = 2000  # customers per batch: a few MB of rows, statements of a sane size
# Rows per UPDATE of bulk_update (a CASE per field and row): PostgreSQL plans
# long CASE lists slowly, and SQLite caps the parameters of one statement.
UPDATE_BATCH = 500

# The profile fields a refresh writes (bulk_update), besides computed_at.
FIGURE_FIELDS = (
    "orders_count",
    "total_paid",
    "total_refunded",
    "first_order_at",
    "last_order_at",
    "segment",
    "segment_since",
)


@dataclass(frozen=True)
class Figures:
    """What a customer's paid orders come to (orders paid at some point, whatever
    happened to them since: refunded, partly refunded or completed)."""

    orders_count: int = 0
    total_paid: Decimal = ZERO
    total_refunded: Decimal = ZERO
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None

    @property
    def total_spent(self) -> Decimal:
        """What they paid and kept."""
        return self.total_paid - self.total_refunded


def segment_of(figures: Figures, rules: SegmentSettings, now: datetime) -> str:
    """The customer's automatic segment, the first of these that holds:

    1. PROSPECT: never paid for an order;
    2. DORMANT: their last paid order is `dormant_days` old or older;
    3. AT_RISK: it is `at_risk_days` old or older;
    4. HIGH_VALUE: they kept at least `high_value_spent` (paid less refunded)
       over at least `high_value_orders` paid orders;
    5. NEW: their first paid order is less than `new_days` old;
    6. ACTIVE: anyone else.

    An order exactly N days old counts as N days old: on that moment it is no
    longer "within N days" and already "no order for N days".
    """
    if not figures.orders_count or figures.last_order_at is None:
        return Segment.PROSPECT
    since_last = now - figures.last_order_at
    if since_last >= timedelta(days=rules.dormant_days):
        return Segment.DORMANT
    if since_last >= timedelta(days=rules.at_risk_days):
        return Segment.AT_RISK
    if (
        figures.total_spent >= rules.high_value_spent
        and figures.orders_count >= rules.high_value_orders
    ):
        return Segment.HIGH_VALUE
    if figures.first_order_at is not None and now - figures.first_order_at < timedelta(
        days=rules.new_days
    ):
        return Segment.NEW
    return Segment.ACTIVE


@dataclass(frozen=True)
class BatchDone:
    """One batch of a refresh, for progress reports."""

    number: int  # 1-based
    batches: int  # how many the run expects (customers counted at its start)
    first_pk: int
    last_pk: int
    customers: int
    created: int
    changed: int


def refresh_profiles(
    *,
    now: datetime | None = None,
    user_ids: Iterable[int] | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[BatchDone], None] | None = None,
) -> int:
    """Recompute the figures and segment of every customer (or of `user_ids`),
    creating the profiles that are missing. Returns how many profiles were created
    or changed. `progress(batch)` is called after each batch has committed.

    Idempotent; each batch is its own transaction (see the module docstring). A
    profile created at the same moment by another refresh is left to it (the
    figures are the same).
    """
    now = now or timezone.now()
    rules = SegmentSettings.get_solo()
    users = get_user_model().objects.order_by("pk")
    if user_ids is not None:
        wanted = sorted(set(user_ids))
        chunks = [wanted[start : start + batch_size] for start in range(0, len(wanted), batch_size)]
        expected = len(chunks)
        batches = (
            (_in_list(ids), ids)
            for chunk in chunks
            if (ids := list(users.filter(pk__in=chunk).values_list("pk", flat=True)))
        )
    else:
        expected = -(-users.count() // batch_size)
        batches = ((_in_range(ids[0], ids[-1]), ids) for ids in _id_pages(users, batch_size))
    written = 0
    for number, (selected, ids) in enumerate(batches, start=1):
        with transaction.atomic():
            created, changed = _refresh_batch(selected, ids, rules, now)
        written += created + changed
        if progress is not None:
            progress(
                BatchDone(
                    number=number,
                    batches=max(expected, number),
                    first_pk=ids[0],
                    last_pk=ids[-1],
                    customers=len(ids),
                    created=created,
                    changed=changed,
                )
            )
    return written


def refresh_range(first_pk: int, last_pk: int, *, now: datetime | None = None) -> int:
    """Refresh the customers whose user ids lie in [first_pk, last_pk] as one batch
    (the nightly task hands out such ranges, see `user_id_ranges`). Returns how
    many profiles were created or changed."""
    now = now or timezone.now()
    rules = SegmentSettings.get_solo()
    selected = _in_range(first_pk, last_pk)
    ids = list(
        get_user_model().objects.filter(selected("pk")).order_by("pk").values_list("pk", flat=True)
    )
    if not ids:
        return 0
    with transaction.atomic():
        created, changed = _refresh_batch(selected, ids, rules, now)
    return created + changed


def user_id_ranges(batch_size: int = BATCH_SIZE) -> list[tuple[int, int]]:
    """Every user's id, cut into ranges (first, last) of at most `batch_size`
    users, in order. One query per range, reading only the primary key's index."""
    users = get_user_model().objects.order_by("pk")
    return [(ids[0], ids[-1]) for ids in _id_pages(users, batch_size)]


def _id_pages(users, size: int) -> Iterator[list[int]]:
    """The ids of `users` (ordered by pk), `size` at a time. Keyset paging: a user who
    signs up during the run is in a later page or none, never twice."""
    after = None
    while True:
        page = users if after is None else users.filter(pk__gt=after)
        ids = list(page.values_list("pk", flat=True)[:size])
        if not ids:
            return
        yield ids
        after = ids[-1]


# A batch's selection: given a column holding a user id ("pk", "user_id"), the filter.
Selected = Callable[[str], Q]


def _in_range(first: int, last: int) -> Selected:
    return lambda column: Q(**{f"{column}__gte": first, f"{column}__lte": last})


def _in_list(ids: list[int]) -> Selected:
    return lambda column: Q(**{f"{column}__in": ids})


def _refresh_batch(
    selected: Selected, ids: list[int], rules: SegmentSettings, now: datetime
) -> tuple[int, int]:
    """Refresh the users `ids` (all those `selected`); (created, changed)."""
    on_user = selected("user_id")
    figures = figures_by_user(Order.objects.filter(on_user))
    profiles = {profile.user_id: profile for profile in CustomerProfile.objects.filter(on_user)}
    missing, changed = [], []
    for user_id in ids:
        mine = figures.get(user_id, Figures())
        segment = segment_of(mine, rules, now)
        profile = profiles.get(user_id)
        if profile is None:
            missing.append(
                CustomerProfile(
                    user_id=user_id,
                    segment=segment,
                    segment_since=now,
                    computed_at=now,
                    **_figure_values(mine),
                )
            )
        elif _apply(profile, mine, segment, now):
            changed.append(profile)
    if missing:
        CustomerProfile.objects.bulk_create(missing, batch_size=BATCH_SIZE, ignore_conflicts=True)
    if changed:
        CustomerProfile.objects.bulk_update(changed, FIGURE_FIELDS, batch_size=UPDATE_BATCH)
    CustomerProfile.objects.filter(on_user).update(computed_at=now)
    return len(missing), len(changed)


def figures_by_user(orders) -> dict[int, Figures]:
    """The figures of each customer of `orders` (one aggregate query, grouped by
    customer): only orders that were paid count, cancelled unpaid ones never."""
    rows = (
        orders.filter(paid_at__isnull=False)
        .order_by()  # no ordering column in the GROUP BY
        .values("user_id")
        .annotate(
            n=Count("pk"),
            paid=Sum("total"),
            refunded=Sum("refunded_total"),
            first=Min("paid_at"),
            last=Max("paid_at"),
        )
    )
    return {
        row["user_id"]: Figures(
            orders_count=row["n"],
            total_paid=from_db_sum(row["paid"]),
            total_refunded=from_db_sum(row["refunded"]),
            first_order_at=row["first"],
            last_order_at=row["last"],
        )
        for row in rows
    }


def _figure_values(figures: Figures) -> dict:
    return {
        "orders_count": figures.orders_count,
        "total_paid": figures.total_paid,
        "total_refunded": figures.total_refunded,
        "first_order_at": figures.first_order_at,
        "last_order_at": figures.last_order_at,
    }


def _apply(profile: CustomerProfile, figures: Figures, segment: str, now: datetime) -> bool:
    """Set the new figures and segment on `profile`; whether anything changed."""
    values = _figure_values(figures)
    changed = False
    for name, value in values.items():
        current = getattr(profile, name)
        if isinstance(value, Decimal):
            current = to_cents(current)
        if current != value:
            setattr(profile, name, value)
            changed = True
    if profile.segment != segment:
        profile.segment = segment
        profile.segment_since = now
        changed = True
    return changed
