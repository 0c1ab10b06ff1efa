"""The rules of a frozen plan version, and the arithmetic of one order's commissions.

A frozen version never changes, so its rules are read once per process and
kept: accruing an order then costs no query for the plan.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from core.money import ZERO, format_percent, to_cents

from .models import CommissionOverride, CommissionPlan


@dataclass(frozen=True)
class Override:
    kind: str
    value: Decimal
    label: str

    def amount(self, paid: Decimal, quantity: int) -> Decimal:
        if self.kind == CommissionOverride.Kind.FIXED:
            return self.value * quantity
        return paid * self.value


@dataclass(frozen=True)
class PlanRules:
    plan_id: int
    levels: int
    level_rates: tuple[Decimal, ...]
    payout_cap: Decimal
    compresses: bool
    allows_self_purchase: bool
    grade_rates: dict[tuple[int, int], Decimal] = field(default_factory=dict)  # (grade, level)
    product_overrides: dict[tuple[int, int], Override] = field(default_factory=dict)
    category_overrides: dict[tuple[int, int], Override] = field(default_factory=dict)

    @property
    def has_overrides(self) -> bool:
        return bool(self.product_overrides or self.category_overrides)

    @property
    def override_category_ids(self) -> list[int]:
        return sorted({category_id for category_id, _level in self.category_overrides})

    def base_rate(self, level: int, grade_id: int | None) -> tuple[Decimal, str]:
        rate = self.grade_rates.get((grade_id, level))
        if rate is not None:
            return rate, f"grade #{grade_id} level {level} {format_percent(rate)}"
        rate = self.level_rates[level - 1]
        return rate, f"level {level} {format_percent(rate)}"


def _load(plan: CommissionPlan) -> PlanRules:
    rules = PlanRules(
        plan_id=plan.pk,
        levels=plan.levels,
        level_rates=tuple(plan.rates()),
        payout_cap=plan.payout_cap,
        compresses=plan.compresses,
        allows_self_purchase=plan.allows_self_purchase,
    )
    for grade_rate in plan.grade_rates.all():
        rules.grade_rates[(grade_rate.grade_id, grade_rate.level)] = grade_rate.rate
    for override in plan.overrides.all():
        target = (
            ("product", override.product_id)
            if override.product_id
            else ("category", override.category_id)
        )
        label = f"{target[0]} #{target[1]} {override.get_kind_display()} {override.value}"
        rule = Override(override.kind, override.value, label)
        into = rules.product_overrides if override.product_id else rules.category_overrides
        into[(target[1], override.level)] = rule
    return rules


@lru_cache(maxsize=64)
def _frozen_rules(plan_id: int) -> PlanRules:
    return _load(CommissionPlan.objects.get(pk=plan_id))


def forget_cached_rules() -> None:
    """Empty the process's cache of frozen plans' rules (tests: a new database reuses ids)."""
    _frozen_rules.cache_clear()


def rules_for(plan: CommissionPlan | int) -> PlanRules:
    """The rules of a plan version; a frozen one's are cached for the process."""
    plan_id = plan if isinstance(plan, int) else plan.pk
    if isinstance(plan, CommissionPlan) and not plan.is_frozen:
        return _load(plan)  # a draft (plan preview) may still change
    return _frozen_rules(plan_id)


@dataclass(frozen=True)
class Line:
    """What accrual needs of an order line."""

    paid_amount: Decimal  # what was paid for the line: its commission base
    quantity: int
    product_id: int
    override_category_id: int | None  # the deepest category with an override, if any


def level_amount(
    rules: PlanRules, level: int, grade_id: int | None, base: Decimal, lines: list[Line]
) -> tuple[Decimal, str]:
    """The unrounded amount one level earns on an order, and the rule(s) used."""
    if not rules.has_overrides:
        rate, label = rules.base_rate(level, grade_id)
        return base * rate, label
    total, labels = ZERO, []
    for line in lines:
        override = rules.product_overrides.get((line.product_id, level)) or (
            rules.category_overrides.get((line.override_category_id, level))
            if line.override_category_id
            else None
        )
        if override is not None:
            total += override.amount(line.paid_amount, line.quantity)
            labels.append(override.label)
        else:
            rate, label = rules.base_rate(level, grade_id)
            total += line.paid_amount * rate
            labels.append(label)
    return total, "; ".join(dict.fromkeys(labels))


def capped_amounts(raw: list[Decimal], base: Decimal, cap: Decimal) -> list[Decimal]:
    """Round each level down to the fen; the nearest levels are paid first, the
    deeper ones give way so that the sum never exceeds base × cap."""
    remaining = to_cents(base * cap)
    amounts = []
    for value in raw:
        amount = max(ZERO, min(to_cents(value), remaining))
        amounts.append(amount)
        remaining -= amount
    return amounts


def kept_after_refund(amount: Decimal, refunded: Decimal, base: Decimal = Decimal(1)) -> Decimal:
    """What a commission keeps once `refunded` of the `base` (the goods total; or a
    share of 1) was refunded: the amount times the share kept, rounded down, so it
    never exceeds the rate times the goods kept; nothing after a full refund.
    Multiplies before it divides, so that an exact proportion (2.54 x 0.70 / 25.40
    = 0.07) is not lost to a repeating share."""
    if not base or refunded >= base:
        return ZERO
    return to_cents(amount * (base - max(refunded, ZERO)) / base)


def reversal_target(amount: Decimal, refunded: Decimal, base: Decimal = Decimal(1)) -> Decimal:
    """How much of a commission stands reversed once `refunded` of the `base` was
    refunded: the amount less what it keeps (kept_after_refund), so the reversal
    rounds up and the net down; all of it for a full refund."""
    return amount - kept_after_refund(amount, refunded, base)
