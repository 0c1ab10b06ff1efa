from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

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


class CommissionPlan(models.Model):
    """One version of the commission plan (佣金方案): who earns what on an order.

    Exactly one version is active. Activating a version freezes it: from then
    on it never changes, so every commission can name the exact rules it was
    computed by; a change is made in a new draft version (`new_version`).
    Rates are fractions of the commission base (goods paid, shipping
    excluded): 0.1000 is 10%.
    """

    name = models.CharField(_("name"), max_length=100)
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
        ]

    def __str__(self):
        return f"{self.name} v{self.version}"

    def save(self, *args, **kwargs):
        if self.pk and CommissionPlan.objects.filter(pk=self.pk, is_frozen=True).exists():
            raise FrozenPlan(_("This plan version was active and can no longer be changed."))
        super().save(*args, **kwargs)

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
                % {"sum": sum(self.rates()), "cap": self.payout_cap}
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


class LedgerEntry(models.Model):
    """One movement of a distributor's money (账户流水). Append-only.

    A balance is the sum of its entries: `pending` counts money earned but not
    yet withdrawable, `available` what may be withdrawn. Nothing is ever
    updated or deleted; a mistake is corrected by a new entry.
    """

    class Kind(models.TextChoices):
        ACCRUED = "accrued", _("Commission accrued (pending)")
        RELEASED = "released", _("Commission released (available)")
        REVERSED = "reversed", _("Commission reversed")

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
        related_name="entries",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    pending = models.DecimalField(_("pending change"), max_digits=12, decimal_places=2)
    available = models.DecimalField(_("available change"), max_digits=12, decimal_places=2)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

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
        ]
        indexes = [models.Index(fields=["distributor", "-created_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.pending}/{self.available}"
