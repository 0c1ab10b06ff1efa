"""Commission accrual (佣金结算): paid orders become pending commissions, in batches.

A promotion can bring thousands of paid orders a minute. One task per order
(six queries and a notification per earner each) accrued 35-72 orders/s per
worker here; this module accrues them up to a thousand at a time in about
twenty statements per batch. benchmarks/accrual.py, on this 2-core machine
with nothing else running: one solo worker accrued a burst of 10,000 orders
paid at 3,000/s at 1,850 orders/s, paid -> accrued p95 2.2 s, 0.023 queries
per order; in-process, a batch accrued 83 times as many orders/s as one order
per transaction in the same run.

The flow:

- ``schedule_accrual(order)`` (mark_paid, in the payment's transaction) writes
  an ``AccrualDue`` row with the payment, so a paid order is never forgotten
  whatever becomes of a task, and after the commit ``request_run()`` makes
  sure a run of ``accrue_due_task`` is coming: a cache flag, set when a run is
  enqueued and cleared when one starts, keeps a burst from enqueueing one run
  per order; with the cache down every order enqueues one (harmless). The
  beat runs the queue every minute as well, so a lost run only delays.
- ``accrue_due()`` is one batch in one transaction: it claims due rows with
  FOR UPDATE SKIP LOCKED (two workers take disjoint rows), locks their orders
  in primary-key order, reads which of them were accrued meanwhile (after
  the locks: a new snapshot), the chains' members in one query, the lines in
  one more when the plan has product or category rules, and writes the
  accrual records, commissions and ledger entries in three bulk inserts, the
  earners' messages in a few more (``notify_many``), then deletes the rows.
- ``accrue_commissions(order_id)`` and ``accrue_orders(ids)`` are the same
  batch code for given orders (a refund accrues before it reverses; the
  sweep; the admin and tests) and drop those orders' due rows.

Exactly once: an order is accrued under its row lock, and only if it has no
``Accrual`` record (one-to-one, written in the same transaction as its
commissions; the unique (order, level) constraint backs it up). A batch
killed mid-way commits nothing, so its rows are due again for the next run
(the redelivered task, or the beat). An accrual that waits for an order's lock
never waits for a due row's (``accrue_orders`` skips the rows a batch holds and
leaves them to it), so a refund and a batch cannot deadlock.

A batch that fails for another reason than a lost database (which the task's
retries handle) is done again order by order, and an order that fails alone
is set aside (its row counts the failure) for the ten-minute sweep, so one bad
order never holds back the queue behind it.
"""

import logging
import time
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from catalog.models import Category
from core import outbox
from core.money import ZERO
from distributors.models import Distributor
from notifications.models import Kind
from notifications.services import Notice, notify_many
from orders.models import Order, OrderLine

from .models import Accrual, AccrualDue, Commission, CommissionPlan, LedgerEntry
from .rules import Line, PlanRules, capped_amounts, level_amount, rules_for

logger = logging.getLogger(__name__)

# Due orders per batch: one transaction of about 20 statements. Measured in one run
# here, batches of 1,000 accrued ~20% faster than of 500 and ~30% than of 250.
BATCH = 1000
# A run stops starting batches after this long and asks for the next run: well
# within the task's soft time limit (core.task_policy), one slow batch included.
RUN_SECONDS = 20
# Set when a run is enqueued, cleared when one starts. It outlives a queued run
# only so long, so a run that never starts (its worker died holding it) costs at
# most this wait for the next payment, or the beat's minute.
RUN_FLAG = "commissions:accrual-run-requested"
RUN_FLAG_SECONDS = 10
# The sweep looks this far back for paid orders whose accrual never ran, and
# leaves alone the ones paid in the last minutes (their run is on its way).
SWEEP_WINDOW = timedelta(days=3)
SWEEP_GRACE = timedelta(minutes=5)
TRANSIENT = (OperationalError, InterfaceError)  # the task's retries handle these


def active_plan() -> CommissionPlan | None:
    return CommissionPlan.objects.filter(is_active=True).first()


# --- the computation (pure) ---------------------------------------------------------


def _earners(rules: PlanRules, chain: list[int], members: dict[int, tuple[str, int | None]]):
    """(level, distributor id, grade id) of each level that earns.

    Without compression an ineligible (suspended) ancestor's level is simply not
    paid; with it, the next eligible ancestor up the chain takes the level.
    """
    eligible = [(pk, members[pk][1]) for pk in chain if members.get(pk, ("", None))[0] == "active"]
    if rules.compresses:
        return [(level, pk, grade) for level, (pk, grade) in enumerate(eligible[: rules.levels], 1)]
    eligible_ids = dict(eligible)
    return [
        (level, pk, eligible_ids[pk])
        for level, pk in enumerate(chain[: rules.levels], 1)
        if pk in eligible_ids
    ]


def lines_of(order_ids: list[int], rules: PlanRules) -> dict[int, list[Line]]:
    """The orders' paid lines (one query), each with the deepest overridden category
    above its product; nothing when the plan has no overrides (none needed)."""
    if not rules.has_overrides or not order_ids:
        return {}
    # A line's commission base is what was paid for it; a gift (paid 0.00) earns nothing,
    # not even a fixed amount per unit.
    lines = OrderLine.objects.filter(order_id__in=order_ids, is_gift=False).values(
        "order_id", "paid_amount", "quantity", product_id=F("variant__product_id")
    )
    if rules.override_category_ids:
        category = Category.objects.filter(
            pk__in=rules.override_category_ids,
            tree_id=OuterRef("variant__product__category__tree_id"),
            lft__lte=OuterRef("variant__product__category__lft"),
            rght__gte=OuterRef("variant__product__category__rght"),
        ).order_by("-lft")
        lines = lines.annotate(override_category_id=Subquery(category.values("pk")[:1]))
    by_order: dict[int, list[Line]] = {}
    for row in lines:
        by_order.setdefault(row["order_id"], []).append(
            Line(
                row["paid_amount"],
                row["quantity"],
                row["product_id"],
                row.get("override_category_id"),
            )
        )
    return by_order


def compute_commissions(
    rules: PlanRules,
    chain: list[int],
    members: dict[int, tuple[str, int | None]],
    base: Decimal,
    lines: list[Line],
) -> list[tuple[int, int, Decimal, str]]:
    """(level, distributor id, amount, rule) that an order earns under `rules`.

    Pure: no query. `members` maps distributor ids of the chain to (status,
    grade id). Amounts are rounded down and capped; zero amounts are left out.
    """
    earners = _earners(rules, chain, members)
    computed = [level_amount(rules, level, grade, base, lines) for level, _pk, grade in earners]
    amounts = capped_amounts([raw for raw, _rule in computed], base, rules.payout_cap)
    return [
        (level, pk, amount, rule[:255])
        for (level, pk, _grade), amount, (_raw, rule) in zip(
            earners, amounts, computed, strict=True
        )
        if amount > ZERO
    ]


# --- scheduling ------------------------------------------------------------------------


def schedule_accrual(order: Order) -> None:
    """Make paid `order` due for accrual, in the caller's transaction, and after the
    commit make sure a run of the due queue is coming (``request_run``).

    The due row commits with the payment or not at all: nothing that happens to
    a task afterwards can lose the accrual, only delay it (the beat runs the
    queue every minute). An order made due twice stays one row.
    """
    AccrualDue.objects.bulk_create([AccrualDue(order_id=order.pk)], ignore_conflicts=True)
    transaction.on_commit(request_run, robust=True)  # a broker or cache outage: the beat runs it


def request_run() -> None:
    """Enqueue a run of the due queue unless one is queued already (RUN_FLAG).

    ``cache.add`` is False both when the flag is there and when the cache is
    down (core.cache degrades to misses); the ``get`` tells them apart, so
    without a cache every call enqueues a run: many runs cost little, a missing
    one would leave orders waiting for the beat.
    """
    from .tasks import accrue_due_task

    if cache.add(RUN_FLAG, 1, timeout=RUN_FLAG_SECONDS) or cache.get(RUN_FLAG) is None:
        outbox.enqueue(accrue_due_task)  # at once: a quiet-time order accrues within seconds


# --- the batch -------------------------------------------------------------------------


def run_due(*, seconds: float = RUN_SECONDS, limit: int = BATCH) -> int:
    """Accrue due orders batch after batch until none is left or `seconds` have passed;
    returns how many due rows the batches took.

    The flag is cleared first: an order paid from now on may not be in the
    batches below, so it requests a run of its own. A run that stops for time
    with orders left requests the next one.
    """
    cache.delete(RUN_FLAG)
    started = time.monotonic()
    taken = 0
    while time.monotonic() - started < seconds:
        batch = accrue_due(limit)
        if not batch:
            return taken
        taken += batch
    if AccrualDue.objects.filter(failures=0).exists():
        request_run()
    return taken


@transaction.atomic
def accrue_due(limit: int = BATCH) -> int:
    """Accrue up to `limit` due orders in one transaction and delete their due rows;
    returns how many rows it took (0: none is due that another batch does not hold).

    Rows are claimed in primary-key order with FOR UPDATE SKIP LOCKED, so
    concurrent batches take disjoint orders. Orders accrued meanwhile are
    skipped, orders no longer paid (refunded, cancelled) accrue nothing; both
    lose their due row. If the batch fails (not for a lost database: the task
    retries that), its orders are accrued one by one, and one that fails alone
    stays due, set aside for the sweep (``retry_failed_accruals``).
    """
    claimed = list(
        AccrualDue.objects.select_for_update(skip_locked=True)
        .filter(failures=0)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not claimed:
        return 0
    failed: set[int] = set()
    try:
        with transaction.atomic():
            _accrue(claimed)
    except TRANSIENT:
        raise
    except Exception:
        logger.exception("accrual: a batch of %s orders failed; accruing one by one", len(claimed))
        failed = _accrue_one_by_one(claimed)
    AccrualDue.objects.filter(pk__in=[pk for pk in claimed if pk not in failed]).delete()
    return len(claimed)


def _accrue_one_by_one(order_ids: list[int]) -> set[int]:
    """Accrue each order in a savepoint of its own; the ids that failed, their due rows
    counting the failure."""
    failed = set()
    for pk in order_ids:
        try:
            with transaction.atomic():
                _accrue([pk])
        except TRANSIENT:
            raise
        except Exception as exc:
            logger.exception("accrual: order %s failed; set aside for the sweep", pk)
            AccrualDue.objects.filter(pk=pk).update(
                failures=F("failures") + 1, last_error=repr(exc)[:300]
            )
            failed.add(pk)
    return failed


@transaction.atomic
def accrue_orders(order_ids) -> dict[int, list[Commission]]:
    """Accrue these orders now, with the batch's code, and drop their due rows.

    Returns {order id: its new commissions} for the orders accrued by this call
    (an empty list when the plan paid nobody); orders accrued before or no
    longer paid are left out. A due row that a running batch holds is left to
    it (it finds the order accrued and drops the row): waiting for it here,
    with the orders locked that the batch waits for, would deadlock.
    """
    ids = sorted(set(order_ids))
    accrued = _accrue(ids)
    held = AccrualDue.objects.select_for_update(skip_locked=True).filter(pk__in=ids)
    AccrualDue.objects.filter(pk__in=list(held.values_list("pk", flat=True))).delete()
    return accrued


@transaction.atomic
def accrue_commissions(order_id: int) -> list[Commission]:
    """Create the pending commissions of a paid order, once, and tell each earner.

    Idempotent: locks the order row, and does nothing if accrual ran before
    (returns the order's commissions then). Every run on a paid order leaves an
    Accrual record with its outcome (also when nobody earned), in the same
    transaction as the commissions, so that nothing accrues the order again
    later (the one-to-one record and the unique (order, level) constraint back
    this up). An order refunded or cancelled before it ran accrues nothing and
    is not recorded. Uses the plan version the order records (stamped when it
    was placed, the one that also decided who is credited). Removes the order's
    due row. A batch of one (``accrue_orders``): about 15 queries with the
    earners' messages, whatever the depth of the chain.
    """
    accrued = accrue_orders([order_id])
    if order_id in accrued:
        return accrued[order_id]
    return list(Commission.objects.filter(order_id=order_id))


def _accrue(order_ids: list[int]) -> dict[int, list[Commission]]:
    """Accrue the orders among `order_ids` that are paid and not accrued yet, in the
    caller's transaction; their orders stay locked until it ends."""
    orders = list(
        Order.objects.select_for_update(of=("self",))
        .filter(pk__in=order_ids)
        .order_by("pk")
        .only("pk", "number", "status", "subtotal", "referral_chain", "commission_plan_id")
    )
    # A new statement after the locks, so a new snapshot: an accrual committed by
    # whoever held one of these locks before us is seen here.
    accrued_before = set(
        Accrual.objects.filter(order_id__in=order_ids).values_list("order_id", flat=True)
    )
    orders = [o for o in orders if o.pk not in accrued_before and o.status in Order.PAID_STATUSES]
    if not orders:
        return {}
    fallback = None  # the plan in force, for an order placed before orders recorded theirs
    if any(order.commission_plan_id is None for order in orders):
        fallback = getattr(active_plan(), "pk", None)
    plan_of = {order.pk: order.commission_plan_id or fallback for order in orders}
    payable = [order for order in orders if order.referral_chain and plan_of[order.pk]]
    rules = {plan_id: rules_for(plan_id) for plan_id in {plan_of[o.pk] for o in payable}}
    members = {
        pk: (status, grade)
        for pk, status, grade in Distributor.objects.filter(
            pk__in={pk for order in payable for pk in order.referral_chain}
        ).values_list("pk", "status", "grade_id")
    }
    lines: dict[int, list[Line]] = {}
    for plan_id, plan_rules in rules.items():
        lines.update(lines_of([o.pk for o in payable if plan_of[o.pk] == plan_id], plan_rules))

    now = timezone.now()
    records, rows = [], []
    for order in orders:
        plan_id = plan_of[order.pk]
        if not order.referral_chain or plan_id is None:
            outcome = (
                Accrual.Outcome.NO_CHAIN if not order.referral_chain else Accrual.Outcome.NO_PLAN
            )
            records.append((order.pk, plan_id, 0, outcome))
            continue
        mine = _commissions_of(order, plan_id, rules[plan_id], members, lines.get(order.pk, []))
        if mine:
            outcome = Accrual.Outcome.CREDITED
        elif _earners(rules[plan_id], order.referral_chain, members):
            outcome = Accrual.Outcome.NOTHING_EARNED
        else:
            outcome = Accrual.Outcome.NO_ELIGIBLE_EARNER
        records.append((order.pk, plan_id, len(mine), outcome))
        rows += mine
    at = connection.ops.adapt_datetimefield_value(now)
    _insert_rows(Accrual, ("order_id", "plan_id", "earners", "outcome"), records, ran_at=at)
    earned: dict[int, list[Commission]] = {order.pk: [] for order in orders}
    if not rows:
        return earned
    pending = {"reversed_amount": ZERO, "status": Commission.Status.PENDING}
    ids = _insert_rows(Commission, NEW_COMMISSION, rows, returning=True, **pending, created_at=at)
    commissions = _as_loaded(
        Commission,
        [
            dict(zip(NEW_COMMISSION, row, strict=True), id=pk, **pending, created_at=now)
            for row, pk in zip(rows, ids, strict=True)
        ],
    )
    numbers = {order.pk: order.number for order in orders}
    _insert_rows(
        LedgerEntry,
        ("distributor_id", "commission_id", "pending", "note"),
        [(c.distributor_id, c.pk, c.amount, numbers[c.order_id]) for c in commissions],
        kind=LedgerEntry.Kind.ACCRUED,
        available=ZERO,
        held=ZERO,
        created_at=at,
    )
    for commission in commissions:
        earned[commission.order_id].append(commission)
    _tell_earners(commissions, {order.pk: order for order in orders})
    return earned


# What a batch computes of each new commission (the rest is the same for all).
NEW_COMMISSION = (
    "order_id",
    "distributor_id",
    "plan_id",
    "level",
    "base",
    "rate",
    "amount",
    "rule",
)


def _as_loaded(model, rows: list[dict]) -> list:
    """Instances of `model` for rows just inserted, as a query would load them
    (``from_db``: a third of the cost of building them from keyword arguments)."""
    names = [field.attname for field in model._meta.concrete_fields]
    return [
        model.from_db(connection.alias, names, [row.get(name) for name in names]) for row in rows
    ]


def _insert_rows(model, columns: tuple[str, ...], rows: list[tuple], *, returning=False, **same):
    """INSERT `rows` (values in `columns` order, as the database takes them) into
    `model`'s table, each with the values of `same` (column=value) too; returns
    the new primary keys in the order of `rows` when asked.

    A batch's three big inserts go through here, not bulk_create: Django makes
    and prepares a model instance per row, which for the ~2,500 rows of a batch
    of 500 orders cost about three times the CPU of plain rows. Columns left out
    take NULL, so every non-null column must be given (a test of each path
    fails otherwise). On PostgreSQL one statement, an UNNEST of one array per
    varying column (as bulk_create itself does there) with `same` as plain
    parameters; elsewhere multi-row VALUES, as many rows per statement as the
    backend's parameter limit allows.
    """
    if not rows:
        return []
    quote = connection.ops.quote_name
    names = ", ".join(quote(column) for column in (*columns, *same))
    head = f"INSERT INTO {quote(model._meta.db_table)} ({names})"
    tail = f" RETURNING {quote(model._meta.pk.column)}" if returning else ""
    if connection.vendor == "postgresql":
        # The types without their parameters, as Django's UNNEST does: varchar[], not
        # varchar(255)[] (no silent truncation).
        types = {
            field.column: field.db_type(connection).split("(")[0] for field in model._meta.fields
        }
        arrays = ", ".join(f"%s::{types[column]}[]" for column in columns)
        constants = "".join(f", %s::{types[column]}" for column in same)
        sql = f"{head} SELECT *{constants} FROM UNNEST({arrays}){tail}"  # noqa: S608 - our names
        # `same` first: its placeholders come first in the statement
        params = [*same.values(), *(list(values) for values in zip(*rows, strict=True))]
        statements = [(sql, params)]
    else:
        width = len(columns) + len(same)
        size = (connection.features.max_query_params or width * len(rows)) // width
        row = f"({', '.join(['%s'] * width)})"
        statements = [
            (
                f"{head} VALUES {', '.join([row] * len(chunk))}{tail}",
                [value for values in chunk for value in (*values, *same.values())],
            )
            for chunk in (rows[start : start + size] for start in range(0, len(rows), size))
        ]
    ids = []
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            if returning:
                ids += [pk for (pk,) in cursor.fetchall()]
    return ids


def _commissions_of(order: Order, plan_id: int, rules: PlanRules, members, lines) -> list:
    """The commissions `order` earns under `rules`, as NEW_COMMISSION rows."""
    base = order.subtotal
    return [
        (order.pk, pk, plan_id, level, base, _rate(amount, base), amount, rule)
        for level, pk, amount, rule in compute_commissions(
            rules, order.referral_chain, members, base, lines
        )
    ]


def _rate(amount: Decimal, base: Decimal) -> Decimal:
    """The effective rate of a commission, as recorded on it."""
    return (amount / base).quantize(Decimal("0.0001")) if base else ZERO


def _tell_earners(commissions: list[Commission], orders_by_pk: dict[int, Order]) -> None:
    """Tell each earner of a batch what they earned in it, rendered once per earner.

    An earner with one order in the batch gets the message every order always
    gave (key order:<id>:commission_accrued); one with several gets one digest
    of them all ("3 orders earned you ¥30.00 ..."), keyed by their first
    commission of the batch, so a promotion's burst does not bury a top
    distributor under a message per order. One query for the earners, then
    ``notify_many``.
    """
    kind = Kind.COMMISSION_ACCRUED
    by_earner: dict[int, dict[int, list[Commission]]] = {}
    for commission in commissions:
        orders = by_earner.setdefault(commission.distributor_id, {})
        orders.setdefault(commission.order_id, []).append(commission)
    earners = Distributor.objects.filter(pk__in=by_earner).select_related(
        "user__notification_settings"
    )
    notices = []
    for distributor in sorted(earners, key=lambda d: d.pk):
        orders = by_earner[distributor.pk]
        mine = [commission for of_order in orders.values() for commission in of_order]
        amount = sum((c.net_amount for c in mine), ZERO)
        if len(orders) == 1:
            order = orders_by_pk[mine[0].order_id]
            notice = Notice(
                distributor.user,
                kind,
                key=f"order:{order.pk}:{kind}",
                context={"order": order, "amount": amount, "commissions": mine},
                link=mine[0].get_absolute_url()
                if len(mine) == 1
                else reverse("commissions:earnings"),
                data={"order": order.pk, "commissions": [c.pk for c in mine]},
            )
        else:
            notice = Notice(
                distributor.user,
                kind,
                key=f"commission:{min(c.pk for c in mine)}:{kind}_digest",
                context={"orders": len(orders), "amount": amount, "commissions": mine},
                link=reverse("commissions:earnings"),
                data={"orders": sorted(orders), "commissions": sorted(c.pk for c in mine)},
                template=f"{kind}_digest",
            )
        notices.append(notice)
    notify_many(notices)


# --- the safety nets -------------------------------------------------------------------


def accrue_missing_commissions(*, now: datetime | None = None) -> int:
    """Accrue paid orders with a referral chain whose accrual never ran (no Accrual record),
    and retry the due orders set aside after failing alone.

    The safety net for what the due queue cannot see: an order paid before it
    existed, or a row removed by hand. An order whose accrual ran and rightly
    paid nobody (its earners were suspended when the money arrived) has a record
    and is never picked up, so a reactivation later cannot earn on it. Returns
    how many orders it accrued or retried.
    """
    now = now or timezone.now()
    missing = list(
        Order.objects.filter(
            status__in=Order.PAID_STATUSES,
            paid_at__gte=now - SWEEP_WINDOW,
            paid_at__lte=now - SWEEP_GRACE,
        )
        .exclude(referral_chain=[])
        .filter(~Exists(Accrual.objects.filter(order=OuterRef("pk"))))
        .filter(~Exists(AccrualDue.objects.filter(order=OuterRef("pk"), failures__gt=0)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(missing), BATCH):
        accrue_orders(missing[start : start + BATCH])
    return len(missing) + retry_failed_accruals()


@transaction.atomic
def retry_failed_accruals(limit: int = BATCH) -> int:
    """Accrue the due orders that failed alone, one by one (claimed as a batch claims);
    one that fails again stays set aside, counting. Returns how many it tried."""
    claimed = list(
        AccrualDue.objects.select_for_update(skip_locked=True)
        .filter(failures__gt=0)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    failed = _accrue_one_by_one(claimed)
    AccrualDue.objects.filter(pk__in=[pk for pk in claimed if pk not in failed]).delete()
    return len(claimed)
