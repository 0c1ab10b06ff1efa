"""Does the ledger agree with itself and with the records it mirrors? (manage.py verify_ledger)

Reads only. Each distributor's balances are computed twice, independently:
from the ledger entries, and from the source records (commissions, bonuses
and withdrawals by status); they must be equal and never negative. Each
commission's, each bonus's (recruitment reward, contest prize) and each
withdrawal's own entries must be the ones its status implies; each order's
commissions stay within the plan's cap; a refunded or cancelled order keeps no
commission or recruitment reward that is not reversed, and a reward names its
customer's own order. Money that should
have moved and did not is found too: a paid order with a referral chain that
was never accrued (no Accrual record), and an approved withdrawal whose payout
was never sent (PAYING, no transfer at the gateway), each once its grace period
has passed.

The work is done in grouped queries over batches of distributors and
streamed rows, so memory stays flat on a large ledger; `progress` is told how
far each step got.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, Sum
from django.utils import timezone

from core.money import ZERO, from_db_sum, to_cents
from distributors.models import Distributor
from orders.models import Order
from payments.models import Transfer

from .models import Accrual, Bonus, Commission, LedgerEntry, Withdrawal

BATCH_SIZE = 1000
# A paid order is accrued within seconds from its due row (commissions.accrual: a
# batch run, and beat's every minute); the sweep (every 10 minutes) catches the rest.
ACCRUAL_GRACE = timedelta(minutes=30)
# An approved payout is sent after commit, and the poller (every 2 minutes)
# sends one whose task was lost.
PAYOUT_GRACE = timedelta(minutes=30)

Kind = LedgerEntry.Kind


@dataclass(frozen=True)
class Problem:
    subject: str  # what disagrees: a distributor, a commission, a withdrawal, an order
    check: str  # which balance or rule
    found: str  # what the ledger (or the record) says
    expected: str  # what it should say


@dataclass
class LedgerReport:
    distributors: int = 0
    entries: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def is_consistent(self) -> bool:
        return not self.problems


Progress = Callable[[str, int, int], None]  # (step, done, total)


def verify_ledger(
    *, batch_size: int = BATCH_SIZE, progress: Progress | None = None, now=None
) -> LedgerReport:
    """Run every check; the report lists what disagrees (nothing: consistent).

    On PostgreSQL all the reads see one snapshot (a read-only REPEATABLE READ
    transaction), so requests, payouts and refunds committed while it runs
    cannot show up as differences between two of its queries.
    """
    progress = progress or (lambda step, done, total: None)
    one_snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if one_snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        report = LedgerReport(entries=LedgerEntry.objects.count())
        report.distributors = _check_balances(report.problems, batch_size, progress)
        for source in SOURCES:
            report.problems += _check_sources(source, batch_size, progress)
        report.problems += _check_order_caps()
        report.problems += _check_closed_orders()
        report.problems += _check_reward_customers()
        report.problems += _check_unaccrued_orders(now or timezone.now())
        report.problems += _check_unsent_payouts(now or timezone.now())
    return report


# --- balances: from the entries, and again from the records -------------------------------


def _check_balances(problems: list[Problem], batch_size: int, progress: Progress) -> int:
    ids = list(Distributor.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        in_batch = {"distributor_id__gte": batch[0], "distributor_id__lte": batch[-1]}
        from_ledger = _ledger_balances(in_batch)
        from_records = _record_balances(in_batch)
        bad: dict[int, list[tuple[str, Decimal, str]]] = defaultdict(list)
        for pk in batch:
            ledger = from_ledger.get(pk, {})
            records = from_records.get(pk, {})
            for name in ("pending", "available", "held", "withdrawn"):
                found, expected = ledger.get(name, ZERO), records.get(name, ZERO)
                if found != expected:
                    bad[pk].append((name, found, _money(expected)))
                elif found < ZERO:
                    bad[pk].append((name, found, ">= 0.00"))
        names = Distributor.objects.select_related("user").in_bulk(list(bad))
        problems += [
            Problem(f"distributor {names[pk]}", name, _money(found), expected)
            for pk, rows in bad.items()
            for name, found, expected in rows
        ]
        progress("distributors", start + len(batch), len(ids))
    return len(ids)


def _ledger_balances(in_batch: dict) -> dict[int, dict[str, Decimal]]:
    rows = (
        LedgerEntry.objects.filter(**in_batch)
        .values("distributor_id")
        .annotate(
            pending_sum=Sum("pending"),
            available_sum=Sum("available"),
            held_sum=Sum("held"),
            paid_sum=Sum("held", filter=Q(kind=Kind.WITHDRAWAL_PAID)),
        )
    )
    return {
        row["distributor_id"]: {
            "pending": from_db_sum(row["pending_sum"]),
            "available": from_db_sum(row["available_sum"]),
            "held": from_db_sum(row["held_sum"]),
            "withdrawn": ZERO - from_db_sum(row["paid_sum"]),
        }
        for row in rows
    }


def _record_balances(in_batch: dict) -> dict[int, dict[str, Decimal]]:
    """Balances as the commissions, bonuses and withdrawals say they must be."""
    earned: dict[int, dict[str, Decimal]] = defaultdict(dict)
    # A commission counts for what partial refunds left of it; a bonus is whole or reversed.
    kept = {
        Commission: F("amount") - F("reversed_amount"),
        Bonus: F("amount"),
        Withdrawal: F("amount"),
    }
    for model in (Commission, Bonus, Withdrawal):
        rows = model.objects.filter(**in_batch).values("distributor_id", "status")
        for row in rows.annotate(total=Sum(kept[model])).order_by():
            earned[row["distributor_id"]][f"{model.__name__}.{row['status']}"] = from_db_sum(
                row["total"]
            )
    balances = {}
    for pk, sums in earned.items():
        # Approved for the gateway but not paid yet, the money is still held.
        requested = sums.get("Withdrawal.requested", ZERO) + sums.get("Withdrawal.paying", ZERO)
        paid = sums.get("Withdrawal.paid", ZERO)
        balances[pk] = {
            "pending": sums.get("Commission.pending", ZERO) + sums.get("Bonus.pending", ZERO),
            "available": sums.get("Commission.available", ZERO)
            + sums.get("Bonus.available", ZERO)
            - requested
            - paid,
            "held": requested,
            "withdrawn": paid,
        }
    return balances


# --- each record's own entries -----------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """The entries a record in one status must have: how many of each kind, and their sums."""

    counts: Callable[[tuple[int, ...]], bool]  # are these counts (one per kind) ok?
    expected: str  # the allowed counts, for the report
    sums: Callable[[dict], tuple[Decimal, Decimal, Decimal]]  # row -> pending, available, held


def _kept(row) -> Decimal:
    """What is left of a commission after partial reversals."""
    return row["amount"] - row["reversed_amount"]


COMMISSION_SHAPES = {  # counts of (accrued, released, reversed); refunds reverse in steps
    Commission.Status.PENDING: Shape(
        lambda c: c[0] == 1 and c[1] == 0,
        "accrued×1, reversed×any",
        lambda r: (_kept(r), ZERO, ZERO),
    ),
    Commission.Status.AVAILABLE: Shape(
        lambda c: c[0] == 1 and c[1] == 1,
        "accrued×1, released×1, reversed×any",
        lambda r: (ZERO, _kept(r), ZERO),
    ),
    Commission.Status.REVERSED: Shape(
        lambda c: c[0] == 1 and c[1] <= 1 and c[2] >= 1,
        "accrued×1, released×0-1, reversed×1+",
        lambda r: (ZERO, ZERO, ZERO),
    ),
}
WITHDRAWAL_SHAPES = {  # counts of (held, paid, returned)
    Withdrawal.Status.REQUESTED: Shape(
        lambda c: c == (1, 0, 0), "withdrawal_held×1", lambda r: (ZERO, -r["amount"], r["amount"])
    ),
    Withdrawal.Status.PAID: Shape(
        lambda c: c == (1, 1, 0),
        "withdrawal_held×1, withdrawal_paid×1",
        lambda r: (ZERO, -r["amount"], ZERO),
    ),
    Withdrawal.Status.REJECTED: Shape(
        lambda c: c == (1, 0, 1),
        "withdrawal_held×1, withdrawal_returned×1",
        lambda r: (ZERO, ZERO, ZERO),
    ),
}
# Being paid by the gateway holds like a request; a failed payout returns like a rejection.
WITHDRAWAL_SHAPES[Withdrawal.Status.PAYING] = WITHDRAWAL_SHAPES[Withdrawal.Status.REQUESTED]
WITHDRAWAL_SHAPES[Withdrawal.Status.FAILED] = WITHDRAWAL_SHAPES[Withdrawal.Status.REJECTED]
# Counts of (reward_accrued, reward_released, reward_reversed, prize_paid), by (kind, status).
# Each kind is written at most once per bonus; a reward is reversed from pending or
# after its release. A prize is paid available at once and has no other status.
BONUS_SHAPES = {
    (Bonus.Kind.RECRUITMENT, Bonus.Status.PENDING): Shape(
        lambda c: c == (1, 0, 0, 0), "reward_accrued×1", lambda r: (r["amount"], ZERO, ZERO)
    ),
    (Bonus.Kind.RECRUITMENT, Bonus.Status.AVAILABLE): Shape(
        lambda c: c == (1, 1, 0, 0),
        "reward_accrued×1, reward_released×1",
        lambda r: (ZERO, r["amount"], ZERO),
    ),
    (Bonus.Kind.RECRUITMENT, Bonus.Status.REVERSED): Shape(
        lambda c: c in ((1, 0, 1, 0), (1, 1, 1, 0)),
        "reward_accrued×1, reward_released×0-1, reward_reversed×1",
        lambda r: (ZERO, ZERO, ZERO),
    ),
    (Bonus.Kind.CONTEST_PRIZE, Bonus.Status.AVAILABLE): Shape(
        lambda c: c == (0, 0, 0, 1), "prize_paid×1", lambda r: (ZERO, r["amount"], ZERO)
    ),
}


@dataclass(frozen=True)
class Source:
    """A kind of record whose entries are checked: which entry kinds are its own, and the
    shape its row (status, and for a bonus its kind) implies."""

    name: str  # the records, in progress lines
    subject: Callable[[dict], str]  # row -> what the report calls it
    model: type[Commission | Withdrawal | Bonus]
    kinds: tuple[str, ...]
    shape_of: Callable[[dict], Shape | None]  # None: no record may be like this
    fields: tuple[str, ...] = ()  # read beside pk, status and amount


SOURCES = [
    Source(
        "commissions",
        lambda r: f"commission #{r['pk']} ({r['status']})",
        Commission,
        LedgerEntry.COMMISSION_KINDS,
        lambda r: COMMISSION_SHAPES.get(r["status"]),
        ("reversed_amount",),
    ),
    Source(
        "withdrawals",
        lambda r: f"withdrawal #{r['pk']} ({r['status']})",
        Withdrawal,
        LedgerEntry.WITHDRAWAL_KINDS,
        lambda r: WITHDRAWAL_SHAPES.get(r["status"]),
    ),
    Source(
        "bonuses",
        lambda r: f"bonus #{r['pk']} ({r['kind']}, {r['status']})",
        Bonus,
        LedgerEntry.BONUS_KINDS,
        lambda r: BONUS_SHAPES.get((r["kind"], r["status"])),
        ("kind",),
    ),
]


def _check_sources(source: Source, batch_size: int, progress: Progress) -> list[Problem]:
    """Every record of `source` has exactly the entries its status implies."""
    model, kinds = source.model, source.kinds
    total = model.objects.count()
    counts = {
        f"n{i}": Count("entries", filter=Q(entries__kind=kind)) for i, kind in enumerate(kinds)
    }
    rows = (
        model.objects.order_by("pk")
        .values("pk", "status", "amount", *source.fields)
        .annotate(
            **counts,
            foreign=Count("entries", filter=~Q(entries__distributor_id=F("distributor_id"))),
            pending=Sum("entries__pending"),
            available=Sum("entries__available"),
            held=Sum("entries__held"),
        )
    )
    problems = []
    for done, row in enumerate(rows.iterator(chunk_size=batch_size), start=1):
        if done % batch_size == 0 or done == total:
            progress(source.name, done, total)
        subject = source.subject(row)
        shape = source.shape_of(row)
        found = tuple(row[name] for name in counts)
        if shape is None:
            problems.append(Problem(subject, "status", row["status"], "not possible"))
            continue
        if not shape.counts(found):
            problems.append(Problem(subject, "entries", _kinds_text(kinds, found), shape.expected))
        if row["foreign"]:
            problems.append(
                Problem(subject, "entries", f"{row['foreign']} of another distributor", "0")
            )
        sums = tuple(from_db_sum(row[name]) for name in ("pending", "available", "held"))
        expected_sums = shape.sums(row)
        if sums != expected_sums:
            problems.append(
                Problem(subject, "entry sums", _sums_text(sums), _sums_text(expected_sums))
            )
    return problems


def _kinds_text(kinds: Iterable[str], counts: Iterable[int]) -> str:
    return ", ".join(f"{kind}×{n}" for kind, n in zip(kinds, counts, strict=True) if n) or "none"


def _sums_text(sums: Iterable[Decimal]) -> str:
    return "pending {} / available {} / held {}".format(*map(_money, sums))


def _money(value: Decimal) -> str:
    # SQLite hands sums back unquantized (150 for 150.00); show them as stored.
    return str(to_cents(value))


# --- orders ------------------------------------------------------------------------------


def _check_order_caps() -> list[Problem]:
    """Sum of an order's commissions <= the plan's cap × the commission base."""
    rows = (
        Commission.objects.values("order_id", "order__number")
        .annotate(total=Sum("amount"), base=Max("base"), cap=Min("plan__payout_cap"))
        .order_by("order_id")
    )
    return [
        Problem(
            f"order {row['order__number']}",
            "commission cap",
            _money(row["total"]),
            f"<= {_money(row['base'])} × {row['cap']:.4f}",
        )
        for row in rows.iterator()
        if row["total"] > row["base"] * row["cap"]
    ]


def _check_closed_orders() -> list[Problem]:
    """A refunded or cancelled order keeps no commission or reward that is not reversed."""
    closed = [Order.Status.REFUNDED, Order.Status.CANCELLED]
    problems = []
    for label, model in (("commission", Commission), ("bonus", Bonus)):
        rows = (
            model.objects.filter(order__status__in=closed)
            .exclude(status=model.Status.REVERSED)
            .values_list("pk", "order__number", "order__status", "status")
            .order_by("pk")
        )
        problems += [
            Problem(f"order {number} ({order_status})", f"{label} #{pk}", status, "reversed")
            for pk, number, order_status, status in rows.iterator()
        ]
    return problems


def _check_reward_customers() -> list[Problem]:
    """A recruitment reward names a new customer and an order of that customer's."""
    rows = (
        Bonus.objects.filter(kind=Bonus.Kind.RECRUITMENT)
        .filter(Q(customer__isnull=True) | Q(order__isnull=True) | ~Q(order__user=F("customer")))
        .values_list("pk", "status", "customer_id", "order__user_id")
        .order_by("pk")
    )
    return [
        Problem(
            f"bonus #{pk} (recruitment, {status})",
            "customer",
            f"customer {customer or '-'}, order of {buyer or '-'}",
            "the customer's own order",
        )
        for pk, status, customer, buyer in rows.iterator()
    ]


def _check_unaccrued_orders(now) -> list[Problem]:
    """A paid order with a referral chain was accrued (it has an Accrual record)."""
    rows = (
        Order.objects.filter(status__in=Order.PAID_STATUSES, paid_at__lte=now - ACCRUAL_GRACE)
        .exclude(referral_chain=[])
        .filter(~Exists(Accrual.objects.filter(order=OuterRef("pk"))))
        .values_list("number", "status", "paid_at")
        .order_by("pk")
    )
    return [
        Problem(
            f"order {number} ({status})",
            "accrual",
            f"never accrued (paid {paid_at:%Y-%m-%d %H:%M})",
            "an accrual record",
        )
        for number, status, paid_at in rows.iterator()
    ]


def _check_unsent_payouts(now) -> list[Problem]:
    """An approved withdrawal's payout is under way, paid or failed: a PAYING one
    has a transfer at the gateway under its bill number."""
    paying = list(
        Withdrawal.objects.filter(
            status=Withdrawal.Status.PAYING, reviewed_at__lte=now - PAYOUT_GRACE
        )
        .order_by("pk")
        .only("pk", "status", "reviewed_at")
    )
    sent = set(
        Transfer.objects.filter(bill_no__in=[w.payout_bill_no for w in paying]).values_list(
            "bill_no", flat=True
        )
    )
    return [
        Problem(
            f"withdrawal #{w.pk} ({w.status})",
            "payout",
            f"no transfer sent (approved {w.reviewed_at:%Y-%m-%d %H:%M})",
            "a transfer under way, paid or failed",
        )
        for w in paying
        if w.payout_bill_no not in sent
    ]
