from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import SingletonModel, localized
from core.money import format_cny, format_percent

MAX_LEVELS = 3  # more than three tiers is pyramid selling (禁止传销条例)

rate_field_kwargs = {
    "max_digits": 5,
    "decimal_places": 4,
    "default": Decimal("0"),
    "validators": [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
}


class FrozenPlan(Exception):
    """A frozen plan version was about to be changed."""


class PayoutMethod(models.TextChoices):
    ALIPAY = "alipay", _("Alipay account")
    WECHAT = "wechat", _("WeChat Pay")
    BANK_CARD = "bank_card", _("Bank card")


def default_payout_methods() -> list[str]:
    return [PayoutMethod.ALIPAY, PayoutMethod.WECHAT, PayoutMethod.BANK_CARD]


class SelfPurchaseRule(models.TextChoices):
    """Who a distributor's own order credits when the plan pays no self-purchase commission."""

    RECRUITER_CHAIN = "recruiter_chain", _("Their recruiter's chain earns, as for a customer")
    NOBODY = "nobody", _("Nobody earns")


# Each rate has 4 decimal places, so a sum above the cap is above it by at least
# 0.0001: allowing half of that absorbs SQLite's float arithmetic and changes
# nothing in exact decimals (PostgreSQL).
_CAP_SLACK = Decimal("0.00005")


def _rates_within_cap() -> models.Q:
    """The rates of the levels a plan pays add up to at most its payout cap."""
    cap = models.F("payout_cap") + _CAP_SLACK
    l2, l3 = models.F("level_2_rate"), models.F("level_3_rate")
    return (
        models.Q(levels=1, level_1_rate__lte=cap)
        | models.Q(levels=2, level_1_rate__lte=cap - l2)
        | models.Q(levels=3, level_1_rate__lte=cap - l2 - l3)
    )


class CommissionPlan(models.Model):
    """One version of the commission plan (佣金方案): who earns what on an order.

    Exactly one version is active. Activating a version freezes it: from then
    on it never changes, so every commission can name the exact rules it was
    computed by; a change is made in a new draft version (`new_version`).
    Rates are fractions of the commission base (goods paid, shipping
    excluded): 0.1000 is 10%.
    """

    name = models.CharField(
        _("name"),
        max_length=100,
        help_text=_("Distributors see it with their commissions; in Chinese."),
    )
    name_en = models.CharField(
        _("name (English)"),
        max_length=100,
        blank=True,
        help_text=_("Shown to distributors who read the site in English; empty: the name."),
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    previous = models.ForeignKey(
        "self",
        verbose_name=_("previous version"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    is_active = models.BooleanField(_("active"), default=False)
    is_frozen = models.BooleanField(
        _("frozen"),
        default=False,
        editable=False,
        help_text=_("A version that was ever active can no longer be edited."),
    )
    allows_self_purchase = models.BooleanField(
        _("self-purchase commission (自购返佣)"),
        default=False,
        help_text=_("A distributor buying for themselves earns level 1 on their own order."),
    )
    self_purchase_rule = models.CharField(
        _("own orders without self-purchase commission"),
        max_length=16,
        choices=SelfPurchaseRule.choices,
        default=SelfPurchaseRule.RECRUITER_CHAIN,
        help_text=_(
            "Who earns when a distributor buys for themselves and self-purchase "
            "commission is off: the distributor buys as a customer of their recruiter "
            "(the recruiter earns level 1, the next one up level 2), or nobody earns."
        ),
    )
    compresses = models.BooleanField(
        _("compress over ineligible ancestors"),
        default=False,
        help_text=_(
            "When an ancestor is suspended, the next active one moves up to take the "
            "level; otherwise that level is simply not paid."
        ),
    )
    levels = models.PositiveSmallIntegerField(
        _("levels"),
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_LEVELS)],
        help_text=_("How many levels of the referral chain earn (at most 3)."),
    )
    level_1_rate = models.DecimalField(_("level 1 rate"), **rate_field_kwargs)
    level_2_rate = models.DecimalField(_("level 2 rate"), **rate_field_kwargs)
    level_3_rate = models.DecimalField(_("level 3 rate"), **rate_field_kwargs)
    payout_cap = models.DecimalField(
        _("payout cap"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.3000"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=_("The most all levels together may earn, as a share of the base."),
    )
    freeze_days = models.PositiveSmallIntegerField(
        _("freeze period (days)"),
        default=0,
        help_text=_("Days after an order completes before its commissions can be withdrawn."),
    )
    min_withdrawal = models.DecimalField(
        _("minimum withdrawal"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("50.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    withdrawal_fee_rate = models.DecimalField(
        _("withdrawal fee"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("0.2"))],
        help_text=_("A share of each withdrawal kept as a fee: 0.0060 is 0.6%."),
    )
    payout_methods = models.JSONField(
        _("payout methods"),
        default=default_payout_methods,
        help_text=_("Where distributors may withdraw to: alipay, wechat, bank_card."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("commission plan")
        verbose_name_plural = _("commission plans")
        ordering = ["-is_active", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="one_active_plan"
            ),
            models.CheckConstraint(
                condition=models.Q(levels__gte=1, levels__lte=MAX_LEVELS),
                name="plan_levels_1_to_3",
            ),
            # Also a draft: a plan whose rates exceed its cap is never stored.
            models.CheckConstraint(
                condition=_rates_within_cap(),
                name="plan_rates_within_cap",
                violation_error_code="rates_above_cap",
                violation_error_message=_("The level rates add up to more than the payout cap."),
            ),
        ]

    def __str__(self):
        return f"{self.name} v{self.version}"

    def save(self, *args, **kwargs):
        if self.pk and CommissionPlan.objects.filter(pk=self.pk, is_frozen=True).exists():
            raise FrozenPlan(_("This plan version was active and can no longer be changed."))
        super().save(*args, **kwargs)

    def validate_constraints(self, exclude=None):
        """As Django does, less the cap constraint's message: clean() says the same
        with the numbers, and one message is enough."""
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as exc:
            kept = {
                field: [error for error in errors if error.code != "rates_above_cap"]
                for field, errors in exc.error_dict.items()
            }
            kept = {field: errors for field, errors in kept.items() if errors}
            if kept:
                raise ValidationError(kept) from None

    @property
    def display_name(self) -> str:
        """The name distributors read, in their language."""
        return localized(self.name, self.name_en)

    def rates(self) -> list[Decimal]:
        """The rate of each earning level, level 1 first."""
        return [self.level_1_rate, self.level_2_rate, self.level_3_rate][: self.levels]

    def clean(self):
        if self.levels is None or not 1 <= self.levels <= MAX_LEVELS:
            raise ValidationError(
                {"levels": _("A plan may pay at most %(max)d levels.") % {"max": MAX_LEVELS}}
            )
        unknown = set(self.payout_methods or []) - set(PayoutMethod.values)
        if not self.payout_methods or unknown:
            raise ValidationError(
                {
                    "payout_methods": _("Choose one or more of: %(methods)s.")
                    % {"methods": ", ".join(PayoutMethod.values)}
                }
            )
        if sum(self.rates()) > self.payout_cap:
            raise ValidationError(
                _("The level rates add up to %(sum)s, more than the payout cap %(cap)s.")
                % {"sum": format_percent(sum(self.rates())), "cap": format_percent(self.payout_cap)}
            )


class GradeRate(models.Model):
    """A plan's rate for distributors of one grade at one level (分销等级佣金)."""

    plan = models.ForeignKey(CommissionPlan, on_delete=models.CASCADE, related_name="grade_rates")
    grade = models.ForeignKey(
        "distributors.Grade", verbose_name=_("grade"), on_delete=models.PROTECT, related_name="+"
    )
    level = models.PositiveSmallIntegerField(
        _("level"), validators=[MinValueValidator(1), MaxValueValidator(MAX_LEVELS)]
    )
    rate = models.DecimalField(_("rate"), **rate_field_kwargs)

    class Meta:
        verbose_name = _("grade rate")
        verbose_name_plural = _("grade rates")
        constraints = [
            models.UniqueConstraint(fields=["plan", "grade", "level"], name="one_grade_rate"),
        ]

    def __str__(self):
        return f"{self.grade} L{self.level} {self.rate}"


class CommissionOverride(models.Model):
    """A plan's own rule for one product or one category (and its sub-categories)."""

    class Kind(models.TextChoices):
        PERCENTAGE = "percentage", _("Percentage of the line")
        FIXED = "fixed", _("Fixed amount per unit")

    plan = models.ForeignKey(CommissionPlan, on_delete=models.CASCADE, related_name="overrides")
    product = models.ForeignKey(
        "catalog.Product",
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    category = models.ForeignKey(
        "catalog.Category",
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    level = models.PositiveSmallIntegerField(
        _("level"), validators=[MinValueValidator(1), MaxValueValidator(MAX_LEVELS)]
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    value = models.DecimalField(
        _("value"),
        max_digits=12,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_(
            "A fraction for a percentage (0.0800 is 8%), yuan per unit for a fixed amount."
        ),
    )

    class Meta:
        verbose_name = _("commission override")
        verbose_name_plural = _("commission overrides")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(product__isnull=False, category__isnull=True)
                | models.Q(product__isnull=True, category__isnull=False),
                name="override_targets_product_or_category",
            ),
            models.UniqueConstraint(
                fields=["plan", "product", "level"],
                condition=models.Q(product__isnull=False),
                name="one_product_override_per_level",
            ),
            models.UniqueConstraint(
                fields=["plan", "category", "level"],
                condition=models.Q(category__isnull=False),
                name="one_category_override_per_level",
            ),
        ]

    def __str__(self):
        return f"{self.product or self.category} L{self.level} {self.kind} {self.value}"

    def clean(self):
        if bool(self.product_id) == bool(self.category_id):
            raise ValidationError(_("Choose either a product or a category."))
        if self.kind == self.Kind.PERCENTAGE and self.value > 1:
            raise ValidationError({"value": _("A percentage is a fraction: at most 1 (100%).")})


class Commission(models.Model):
    """What one distributor earns on one order at one level of its chain."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        AVAILABLE = "available", _("Available")
        REVERSED = "reversed", _("Reversed")

    order = models.ForeignKey(
        "orders.Order",
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        related_name="commissions",
    )
    distributor = models.ForeignKey(
        "distributors.Distributor",
        verbose_name=_("distributor"),
        on_delete=models.PROTECT,
        related_name="commissions",
    )
    plan = models.ForeignKey(
        CommissionPlan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="+"
    )
    level = models.PositiveSmallIntegerField(_("level"))
    base = models.DecimalField(_("base"), max_digits=12, decimal_places=2)
    rate = models.DecimalField(_("rate"), max_digits=5, decimal_places=4)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    rule = models.CharField(_("rule"), max_length=255, blank=True)
    reversed_amount = models.DecimalField(
        _("reversed"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("accrued"), auto_now_add=True)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    reversed_at = models.DateTimeField(_("reversed"), null=True, blank=True)

    class Meta:
        verbose_name = _("commission")
        verbose_name_plural = _("commissions")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Accrual is idempotent: one commission per order and level, ever.
            models.UniqueConstraint(fields=["order", "level"], name="one_commission_per_level"),
            models.CheckConstraint(
                condition=models.Q(level__gte=1, level__lte=MAX_LEVELS),
                name="commission_level_1_to_3",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="commission_amount_gte_0"
            ),
        ]
        indexes = [models.Index(fields=["distributor", "-created_at"])]

    def __str__(self):
        return f"{self.order} L{self.level} {self.amount}"

    def get_absolute_url(self):
        return reverse("commissions:detail", args=[self.pk])

    @property
    def net_amount(self) -> Decimal:
        """What the distributor keeps: the amount less what refunds reversed."""
        return self.amount - self.reversed_amount


class Accrual(models.Model):
    """The record that accrual ran for a paid order (佣金结算记录), and what it found.

    Written once, in the same transaction as the order's commissions: an order
    with a record is never accrued again, also when its record says nobody
    earned (the earners were suspended when the money arrived, or the plan paid
    nothing). The lost-accrual sweep and verify_ledger look for paid orders
    without one.
    """

    class Outcome(models.TextChoices):
        CREDITED = "credited", _("Commissions accrued")
        NO_CHAIN = "no_chain", _("No referral chain")
        NO_PLAN = "no_plan", _("No commission plan in force")
        NO_ELIGIBLE_EARNER = "no_eligible_earner", _("Nobody in the chain could earn")
        NOTHING_EARNED = "nothing_earned", _("The plan paid nothing on this order")
        LEGACY = "legacy", _("Paid before accrual was recorded; no commissions")

    order = models.OneToOneField(
        "orders.Order",
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        related_name="commission_accrual",
    )
    plan = models.ForeignKey(
        CommissionPlan,
        verbose_name=_("plan"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    earners = models.PositiveSmallIntegerField(_("earners"), default=0)
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices)
    ran_at = models.DateTimeField(_("accrued at"), default=timezone.now)

    class Meta:
        verbose_name = _("accrual")
        verbose_name_plural = _("accruals")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outcome="credited", earners__gt=0)
                | (~models.Q(outcome="credited") & models.Q(earners=0)),
                name="accrual_earners_iff_credited",
            ),
        ]

    def __str__(self):
        return f"{self.order_id} {self.outcome} ({self.earners})"


class AccrualDue(models.Model):
    """A paid order waiting for its accrual (待结算): the due queue of commissions.accrual.

    Written in the payment's transaction, so a paid order is never forgotten
    whatever happens to the task that should accrue it; deleted in the
    transaction that accrues the order (or finds it accrued, refunded or
    cancelled). A batch claims rows with FOR UPDATE SKIP LOCKED, so two
    workers never take the same ones.
    """

    order = models.OneToOneField(
        "orders.Order",
        verbose_name=_("order"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    due_since = models.DateTimeField(_("due since"), default=timezone.now)
    # Runs that failed on this order alone (a batch that fails is retried order by
    # order): such a row leaves the batches to the sweep, so it holds back no other.
    failures = models.PositiveSmallIntegerField(_("failures"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("order due for accrual")
        verbose_name_plural = _("orders due for accrual")

    def __str__(self):
        return f"{self.order_id} due since {self.due_since:%Y-%m-%d %H:%M:%S}"


class Withdrawal(models.Model):
    """A withdrawal (提现): a distributor asks to be paid part of their available balance.

    The amount is held (moved from available to held) when it is requested;
    the merchant then pays it (the hold is spent) or rejects it (the hold
    returns to available). `fee` is what the merchant keeps, `net_amount`
    what reaches the account. Written by commissions.withdrawals only, whose
    conditional updates decide what may follow what: REQUESTED -> PAID, REJECTED
    or PAYING; PAYING -> PAID or FAILED.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        PAYING = "paying", _("Being paid")  # approved; the gateway's transfer is under way
        PAID = "paid", _("Paid")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Payout failed")  # the gateway refused; the hold returned

    distributor = models.ForeignKey(
        "distributors.Distributor",
        verbose_name=_("distributor"),
        on_delete=models.PROTECT,
        related_name="withdrawals",
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    fee = models.DecimalField(_("fee"), max_digits=12, decimal_places=2)
    net_amount = models.DecimalField(_("net amount"), max_digits=12, decimal_places=2)
    method = models.CharField(_("payout method"), max_length=16, choices=PayoutMethod.choices)
    account_name = models.CharField(_("account name"), max_length=100)
    account_number = models.CharField(_("account number"), max_length=64)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=Status.choices,
        default=Status.REQUESTED,
        db_index=True,
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    payout_reference = models.CharField(_("payout reference"), max_length=100, blank=True)
    reject_reason = models.CharField(_("reason for rejection"), max_length=255, blank=True)
    # One per form shown: a double submit of the same form makes one withdrawal.
    request_token = models.UUIDField(_("request token"), unique=True, null=True, editable=False)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("withdrawal")
        verbose_name_plural = _("withdrawals")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="withdrawal_amount_gt_0"),
            models.CheckConstraint(condition=models.Q(fee__gte=0), name="withdrawal_fee_gte_0"),
            # net = amount - fee is computed by the service; an equality check
            # would compare floats on SQLite (see orders.Order's constraints).
            models.CheckConstraint(
                condition=models.Q(net_amount__gte=0, net_amount__lte=models.F("amount")),
                name="withdrawal_net_within_amount",
            ),
            # A reviewed withdrawal says who reviewed it and when; an open one does not.
            models.CheckConstraint(
                condition=models.Q(
                    status="requested", reviewer__isnull=True, reviewed_at__isnull=True
                )
                | models.Q(
                    status__in=["paid", "rejected", "paying", "failed"],
                    reviewer__isnull=False,
                    reviewed_at__isnull=False,
                ),
                name="withdrawal_reviewed_iff_closed",
            ),
        ]
        permissions = [
            ("pay_withdrawal", _("Can approve payouts of withdrawals")),
        ]
        indexes = [models.Index(fields=["distributor", "-created_at"])]

    def __str__(self):
        return f"#{self.pk} {format_cny(self.amount)}"

    def get_absolute_url(self):
        return reverse("commissions:withdrawal_detail", args=[self.pk])

    @property
    def payout_bill_no(self) -> str:
        """Our number for this withdrawal's transfer at the gateway: one, forever."""
        return f"WD{self.pk:012d}"

    @property
    def masked_account_number(self) -> str:
        """The last four characters only, for pages others may glance at."""
        return f"•••• {self.account_number[-4:]}" if len(self.account_number) > 4 else "••••"


class Bonus(models.Model):
    """Money a distributor earns beside commissions (奖励金), written by commissions.bonuses.

    A recruitment reward (拉新奖励) for a new customer's first paid order is pending,
    released when that order completes and its freeze passes, and reversed if the
    order is refunded in full; a contest's cash prize is available at once.
    """

    class Kind(models.TextChoices):
        RECRUITMENT = "recruitment", _("Recruitment reward")
        CONTEST_PRIZE = "contest_prize", _("Contest prize")

    # A bonus moves through the ledger as a commission does.
    Status = Commission.Status

    distributor = models.ForeignKey(
        "distributors.Distributor",
        verbose_name=_("distributor"),
        on_delete=models.PROTECT,
        related_name="bonuses",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    # A recruitment reward's new customer and their first paid order.
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("new customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    order = models.ForeignKey(
        "orders.Order",
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bonuses",
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("earned"), default=timezone.now)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    reversed_at = models.DateTimeField(_("reversed"), null=True, blank=True)

    class Meta:
        verbose_name = _("bonus")
        verbose_name_plural = _("bonuses")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="bonus_amount_gt_0"),
            # A new customer earns their recruiter one reward, ever.
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(kind="recruitment"),
                name="one_recruitment_reward_per_customer",
            ),
        ]
        indexes = [models.Index(fields=["distributor", "kind", "-created_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount}"


class LedgerIsAppendOnly(RuntimeError):
    """Raised on any attempt to change or delete a ledger entry."""


class LedgerEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise LedgerIsAppendOnly("ledger entries are never updated; add a correcting entry")

    def delete(self):
        raise LedgerIsAppendOnly("ledger entries are never deleted; add a correcting entry")


class LedgerEntry(models.Model):
    """One movement of a distributor's money (账户流水). Append-only.

    A balance is the sum of its entries: `pending` counts money earned but not
    yet withdrawable, `available` what may be withdrawn, `held` what is
    requested for withdrawal and not yet paid or returned. Each entry belongs
    to exactly one commission, one withdrawal or one bonus. Nothing is ever updated or
    deleted (the model and its queryset refuse); a mistake is corrected by a
    new entry.
    """

    class Kind(models.TextChoices):
        ACCRUED = "accrued", _("Commission accrued (pending)")
        RELEASED = "released", _("Commission released (available)")
        REVERSED = "reversed", _("Commission reversed")
        WITHDRAWAL_HELD = "withdrawal_held", _("Withdrawal requested (held)")
        WITHDRAWAL_PAID = "withdrawal_paid", _("Withdrawal paid")
        WITHDRAWAL_RETURNED = "withdrawal_returned", _("Withdrawal rejected (returned)")
        REWARD_ACCRUED = "reward_accrued", _("Recruitment reward (pending)")
        REWARD_RELEASED = "reward_released", _("Recruitment reward released (available)")
        REWARD_REVERSED = "reward_reversed", _("Recruitment reward reversed")
        PRIZE_PAID = "prize_paid", _("Contest prize (available)")

    COMMISSION_KINDS = (Kind.ACCRUED, Kind.RELEASED, Kind.REVERSED)
    WITHDRAWAL_KINDS = (Kind.WITHDRAWAL_HELD, Kind.WITHDRAWAL_PAID, Kind.WITHDRAWAL_RETURNED)
    BONUS_KINDS = (Kind.REWARD_ACCRUED, Kind.REWARD_RELEASED, Kind.REWARD_REVERSED, Kind.PRIZE_PAID)

    distributor = models.ForeignKey(
        "distributors.Distributor",
        verbose_name=_("distributor"),
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    commission = models.ForeignKey(
        Commission,
        verbose_name=_("commission"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
    )
    withdrawal = models.ForeignKey(
        Withdrawal,
        verbose_name=_("withdrawal"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
    )
    bonus = models.ForeignKey(
        Bonus,
        verbose_name=_("bonus"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    pending = models.DecimalField(_("pending change"), max_digits=12, decimal_places=2)
    available = models.DecimalField(_("available change"), max_digits=12, decimal_places=2)
    held = models.DecimalField(
        _("held change"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Each commission is accrued and released at most once; partial refunds
            # may reverse it in several steps.
            models.UniqueConstraint(
                fields=["commission", "kind"],
                condition=~models.Q(kind="reversed"),
                name="one_entry_per_kind",
            ),
            # Each withdrawal is held, paid and returned at most once.
            models.UniqueConstraint(
                fields=["withdrawal", "kind"], name="one_withdrawal_entry_per_kind"
            ),
            # Each bonus is accrued, released, reversed or paid at most once.
            models.UniqueConstraint(fields=["bonus", "kind"], name="one_bonus_entry_per_kind"),
            models.CheckConstraint(
                condition=models.Q(
                    commission__isnull=False, withdrawal__isnull=True, bonus__isnull=True
                )
                | models.Q(commission__isnull=True, withdrawal__isnull=False, bonus__isnull=True)
                | models.Q(commission__isnull=True, withdrawal__isnull=True, bonus__isnull=False),
                name="ledger_entry_one_source",
            ),
            models.CheckConstraint(
                condition=models.Q(commission__isnull=True)
                | models.Q(kind__in=["accrued", "released", "reversed"]),
                name="ledger_entry_commission_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(withdrawal__isnull=True)
                | models.Q(kind__in=["withdrawal_held", "withdrawal_paid", "withdrawal_returned"]),
                name="ledger_entry_withdrawal_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(bonus__isnull=True)
                | models.Q(
                    kind__in=["reward_accrued", "reward_released", "reward_reversed", "prize_paid"]
                ),
                name="ledger_entry_bonus_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["distributor", "-created_at"]),
            # The daily summaries read a day's entries (reports.summaries).
            models.Index(fields=["created_at"], name="ledger_entry_created_at"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.pending}/{self.available}/{self.held}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise LedgerIsAppendOnly("ledger entries are never updated; add a correcting entry")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerIsAppendOnly("ledger entries are never deleted; add a correcting entry")


class PayoutSettings(SingletonModel):
    """How approved withdrawals are paid (打款方式), per payout method.

    Manual: finance pays by hand and types the transfer's reference. Automatic:
    approving sends the money through the gateway's transfer API (Alipay 单笔转账,
    WeChat Pay 商家转账); the gateway must be configured and offered.
    """

    alipay_automatic = models.BooleanField(
        _("pay Alipay withdrawals automatically"),
        default=False,
        help_text=_("Approving sends the money with Alipay's transfer to the account given."),
    )
    wechat_automatic = models.BooleanField(
        _("pay WeChat withdrawals automatically"),
        default=False,
        help_text=_(
            "Approving sends the money with WeChat Pay's merchant transfer; the distributor "
            "must have signed in with WeChat, and accepts the money in WeChat."
        ),
    )

    class Meta:
        verbose_name = _("payout settings")
        verbose_name_plural = _("payout settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="payout_settings_singleton"),
        ]

    def __str__(self):
        return str(_("Payout settings"))

    def is_automatic(self, method: str) -> bool:
        return {
            PayoutMethod.ALIPAY: self.alipay_automatic,
            PayoutMethod.WECHAT: self.wechat_automatic,
        }.get(method, False)
