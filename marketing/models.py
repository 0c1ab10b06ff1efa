"""Promotions (营销): coupons, time-limited discounts, gifts, the recruitment reward,
leaderboards and sales contests.

Prices and discounts of an order are computed by `marketing.pricing` and kept
on the order's lines (orders owns them); money a distributor earns here
(recruitment rewards, cash prizes) goes through the commissions ledger as a
`commissions.Bonus`.
"""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.models import BilingualNameMixin, SingletonModel

PERCENT_LIMITS = [MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("99.99"))]


class Period(models.Model):
    """A stretch of time from `starts_at` to `ends_at` (a discount, a gift offer, a
    contest); each model backs it with its own constraint and says `ends_before_start`."""

    ends_before_start: str  # the message, in each model

    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))

    class Meta:
        abstract = True

    def clean(self):
        super().clean()
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": self.ends_before_start})


class Coupon(BilingualNameMixin):
    """A coupon template (优惠券) made by the merchant; shoppers hold claims of it.

    满减: `amount` off goods of at least `threshold`; 折扣: `percent_off` of the
    goods, at most `max_discount`, above `threshold` (0: any); 无门槛: `amount`
    off whatever the goods cost (never more than the goods). The goods counted
    are those in `scope`, at their (time-limited) sale price.
    """

    class Kind(models.TextChoices):
        AMOUNT_OFF = "amount_off", _("Amount off above a threshold (满减)")
        PERCENT_OFF = "percent_off", _("Percentage off (折扣)")
        NO_THRESHOLD = "no_threshold", _("Amount off, no threshold (无门槛)")

    class Scope(models.TextChoices):
        ALL = "all", _("The whole shop")
        CATEGORIES = "categories", _("Some categories")
        PRODUCTS = "products", _("Some products")

    class Validity(models.TextChoices):
        FIXED = "fixed", _("Fixed dates")
        AFTER_CLAIM = "after_claim", _("Days after claiming")

    class Audience(models.TextChoices):
        EVERYONE = "everyone", pgettext_lazy("coupon audience", "Everyone")
        NEW_CUSTOMERS = "new_customers", _("New customers only")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    amount = models.DecimalField(
        _("amount off"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    threshold = models.DecimalField(
        _("minimum goods amount"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("The goods in scope must cost at least this much (0: no minimum)."),
    )
    percent_off = models.DecimalField(
        _("percentage off"),
        max_digits=4,
        decimal_places=2,
        null=True,
        blank=True,
        validators=PERCENT_LIMITS,
        help_text=_("Enter 15 for 15 percent off (85折)."),
    )
    max_discount = models.DecimalField(
        _("largest discount"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("A percentage coupon never takes off more than this (empty: no limit)."),
    )
    scope = models.CharField(_("applies to"), max_length=12, choices=Scope.choices, default="all")
    categories = models.ManyToManyField(
        "catalog.Category",
        verbose_name=_("categories"),
        blank=True,
        related_name="+",
        help_text=_("Products in these categories or below them."),
    )
    products = models.ManyToManyField(
        "catalog.Product", verbose_name=_("products"), blank=True, related_name="+"
    )
    validity = models.CharField(
        _("validity"), max_length=12, choices=Validity.choices, default=Validity.FIXED
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    valid_days = models.PositiveSmallIntegerField(
        _("valid for (days after claiming)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
    )
    total_quantity = models.PositiveIntegerField(
        _("quantity"),
        null=True,
        blank=True,
        help_text=_("How many may be handed out (empty: no limit)."),
    )
    claimed_count = models.PositiveIntegerField(_("handed out"), default=0, editable=False)
    per_person_limit = models.PositiveSmallIntegerField(
        _("per person"), default=1, validators=[MinValueValidator(1)]
    )
    audience = models.CharField(
        _("who may claim"), max_length=16, choices=Audience.choices, default=Audience.EVERYONE
    )
    is_public = models.BooleanField(
        _("in the coupon centre"),
        default=True,
        help_text=_("Shown in the coupon centre and on product pages; otherwise staff issue it."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(percent_off__isnull=True)
                | models.Q(percent_off__gt=0, percent_off__lt=100),
                name="coupon_percent_between_0_and_100",
            ),
            models.CheckConstraint(
                condition=models.Q(threshold__gte=0), name="coupon_threshold_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(total_quantity__isnull=True)
                | models.Q(claimed_count__lte=models.F("total_quantity")),
                name="coupon_claims_within_quantity",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=True)
                | models.Q(valid_until__isnull=True)
                | models.Q(valid_until__gt=models.F("valid_from")),
                name="coupon_valid_until_after_from",
            ),
        ]

    def clean(self):
        errors = {}
        if self.kind == self.Kind.PERCENT_OFF:
            if self.percent_off is None:
                errors["percent_off"] = _("A percentage coupon needs its percentage.")
        elif self.kind and self.amount is None:
            errors["amount"] = _("This coupon needs the amount it takes off.")
        if self.kind == self.Kind.AMOUNT_OFF and self.amount and self.threshold <= 0:
            errors["threshold"] = _("An amount-off coupon needs a minimum goods amount.")
        if (
            self.kind == self.Kind.AMOUNT_OFF
            and self.amount
            and self.threshold
            and self.amount >= self.threshold
        ):
            errors["amount"] = _("The amount off must be below the minimum goods amount.")
        if self.kind == self.Kind.NO_THRESHOLD:
            self.threshold = Decimal("0.00")
        if self.validity == self.Validity.FIXED:
            if not self.valid_from or not self.valid_until:
                errors["valid_until"] = _("Give the first and the last moment it can be used.")
            elif self.valid_until <= self.valid_from:
                errors["valid_until"] = _("The end must come after the start.")
        elif not self.valid_days:
            errors["valid_days"] = _("Give how many days a claimed coupon stays valid.")
        if errors:
            raise ValidationError(errors)

    def validity_of_claim(self, claimed_at) -> tuple:
        """(valid from, valid until) of a claim made at `claimed_at`."""
        if self.validity == self.Validity.AFTER_CLAIM:
            return claimed_at, claimed_at + timedelta(days=self.valid_days or 0)
        return self.valid_from, self.valid_until

    @property
    def remaining(self) -> int | None:
        if self.total_quantity is None:
            return None
        return max(self.total_quantity - self.claimed_count, 0)


class CouponClaim(models.Model):
    """One coupon a shopper holds (我的优惠券): claimed in the coupon centre or issued
    by staff; used by at most one order, and given back if that order is cancelled
    unpaid (never after a refund of a paid order)."""

    class Source(models.TextChoices):
        CLAIMED = "claimed", _("Claimed by the shopper")
        ISSUED = "issued", _("Issued by staff")

    class State(models.TextChoices):
        USABLE = "usable", _("Usable")
        USED = "used", _("Used")
        EXPIRED = "expired", _("Expired")

    coupon = models.ForeignKey(
        Coupon, verbose_name=_("coupon"), on_delete=models.PROTECT, related_name="claims"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("shopper"),
        on_delete=models.CASCADE,
        related_name="coupon_claims",
    )
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.CLAIMED
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("issued by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    claimed_at = models.DateTimeField(_("claimed"), default=timezone.now)
    valid_from = models.DateTimeField(_("valid from"))
    valid_until = models.DateTimeField(_("valid until"))
    order = models.OneToOneField(
        "orders.Order",
        verbose_name=_("used on order"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="coupon_claim",
    )
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("coupon claim")
        verbose_name_plural = _("coupon claims")
        ordering = ["valid_until", "pk"]
        indexes = [models.Index(fields=["user", "valid_until"], name="couponclaim_user_until")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(order__isnull=True, used_at__isnull=True)
                | models.Q(order__isnull=False, used_at__isnull=False),
                name="coupon_claim_used_with_order",
            ),
        ]

    def __str__(self):
        return f"{self.coupon} → {self.user}"

    def state(self, now=None) -> str:
        if self.order_id is not None:
            return self.State.USED
        if self.valid_until <= (now or timezone.now()):
            return self.State.EXPIRED
        return self.State.USABLE


class TimedDiscount(BilingualNameMixin, Period):  # noqa: DJ008 (the mixin's __str__)
    """A time-limited discount (限时折扣): a price per variant from `starts_at` to `ends_at`.

    The variant's own price is then its list price, shown struck through. Where
    campaigns overlap on a variant, the lowest price applies.
    """

    ends_before_start = _("The discount must end after it starts.")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("time-limited discount")
        verbose_name_plural = _("time-limited discounts")
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="timed_discount_ends_after_start",
                violation_error_message=_("The discount must end after it starts."),
            ),
        ]


class TimedDiscountItem(models.Model):
    """The price of one variant during a time-limited discount."""

    discount = models.ForeignKey(
        TimedDiscount, verbose_name=_("discount"), on_delete=models.CASCADE, related_name="items"
    )
    variant = models.ForeignKey(
        "catalog.Variant", verbose_name=_("variant"), on_delete=models.CASCADE, related_name="+"
    )
    price = models.DecimalField(
        _("discount price"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )

    class Meta:
        verbose_name = _("discounted variant")
        verbose_name_plural = _("discounted variants")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["discount", "variant"], name="one_price_per_variant"),
            models.CheckConstraint(
                condition=models.Q(price__gt=0), name="timed_discount_price_gt_0"
            ),
        ]

    def __str__(self):
        return f"{self.variant} {self.price}"

    def clean(self):
        if self.variant_id and self.price is not None and self.price >= self.variant.price:
            raise ValidationError(
                {"price": _("The discount price must be below the variant's price.")}
            )


class GiftRule(BilingualNameMixin, Period):  # noqa: DJ008 (the mixin's __str__)
    """A gift (满赠): an order whose goods reach `threshold` gets `quantity` of
    `gift` at 0.00, taken from stock like any line; no stock, no gift."""

    threshold = models.DecimalField(
        _("goods amount from"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("What the goods cost after discounts."),
    )
    gift = models.ForeignKey(
        "catalog.Variant", verbose_name=_("gift"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveSmallIntegerField(
        _("quantity"), default=1, validators=[MinValueValidator(1)]
    )
    ends_before_start = _("The gift offer must end after it starts.")
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)  # empty: no end
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("gift rule")
        verbose_name_plural = _("gift rules")
        ordering = ["threshold", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(threshold__gt=0, quantity__gte=1), name="gift_rule_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gt=models.F("starts_at")),
                name="gift_rule_ends_after_start",
            ),
        ]


class RecruitmentRewardSettings(SingletonModel):
    """The recruitment reward (拉新奖励): a fixed amount to the distributor whose link
    brought a new customer, on that customer's first paid order; frozen and
    released like commissions, reversed if that order is refunded in full."""

    is_enabled = models.BooleanField(_("pay recruitment rewards"), default=False)
    amount = models.DecimalField(
        _("reward per new customer"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("5.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    daily_cap = models.PositiveSmallIntegerField(
        _("rewards per distributor per day"),
        default=20,
        validators=[MinValueValidator(1)],
        help_text=_("New customers past this number in one day earn the distributor nothing."),
    )

    class Meta:
        verbose_name = _("recruitment reward settings")
        verbose_name_plural = _("recruitment reward settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="recruitment_reward_singleton"),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="recruitment_reward_amount_gt_0"
            ),
        ]

    def __str__(self):
        return str(_("Recruitment reward settings"))


class LeaderboardSettings(SingletonModel):
    """Which leaderboards (排行榜) distributors see."""

    shows_sales = models.BooleanField(_("show the sales leaderboard"), default=True)
    shows_recruits = models.BooleanField(_("show the recruits leaderboard"), default=True)

    class Meta:
        verbose_name = _("leaderboard settings")
        verbose_name_plural = _("leaderboard settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="leaderboard_settings_singleton"),
        ]

    def __str__(self):
        return str(_("Leaderboard settings"))


class Metric(models.TextChoices):
    """What a leaderboard or a contest counts of a distributor's period."""

    SALES = "sales", _("Sales")
    ORDERS = "orders", _("Orders")
    RECRUITS = "recruits", _("New recruits")


class Contest(BilingualNameMixin, Period):  # noqa: DJ008 (the mixin's __str__)
    """A sales contest (销售竞赛): distributors of `grades` (all when none) ranked by
    `metric` over the period; settled once after it ends."""

    description = models.TextField(_("description"), blank=True)
    metric = models.CharField(_("ranked by"), max_length=10, choices=Metric.choices)
    ends_before_start = _("The contest must end after it starts.")
    grades = models.ManyToManyField(
        "distributors.Grade",
        verbose_name=_("eligible grades"),
        blank=True,
        related_name="+",
        help_text=_("Empty: every distributor takes part."),
    )
    is_active = models.BooleanField(_("published"), default=True)
    settled_at = models.DateTimeField(_("settled"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("sales contest")
        verbose_name_plural = _("sales contests")
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="contest_ends_after_start",
                violation_error_message=_("The contest must end after it starts."),
            ),
        ]


class ContestPrize(models.Model):
    """A prize of a contest: for the ranks `rank_from`..`rank_to`, or for everyone whose
    figure reaches `target`; cash (paid through the ledger) and/or a described prize."""

    class Kind(models.TextChoices):
        RANK = "rank", _("For a rank")
        TARGET = "target", _("For reaching a target")

    contest = models.ForeignKey(
        Contest, verbose_name=_("contest"), on_delete=models.CASCADE, related_name="prizes"
    )
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.RANK)
    rank_from = models.PositiveSmallIntegerField(_("from rank"), null=True, blank=True)
    rank_to = models.PositiveSmallIntegerField(_("to rank"), null=True, blank=True)
    target = models.DecimalField(
        _("target"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    cash = models.DecimalField(
        _("cash prize"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    description = models.CharField(_("prize"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("contest prize")
        verbose_name_plural = _("contest prizes")
        ordering = ["kind", "rank_from", "target", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cash__gte=0), name="contest_prize_cash_gte_0"
            ),
        ]

    def __str__(self):
        return self.description or str(self.cash)

    def clean(self):
        errors = {}
        if self.kind == self.Kind.RANK:
            if not self.rank_from:
                errors["rank_from"] = _("Give the rank (or the first rank) this prize is for.")
            elif self.rank_to and self.rank_to < self.rank_from:
                errors["rank_to"] = _("The last rank cannot come before the first.")
        elif self.target is None or self.target <= 0:
            errors["target"] = _("Give the figure a distributor must reach.")
        if not self.cash and not self.description:
            errors["description"] = _("Describe the prize or give a cash amount.")
        if errors:
            raise ValidationError(errors)


class ContestAward(models.Model):
    """A prize awarded when a contest was settled; a cash prize names its ledger bonus."""

    contest = models.ForeignKey(
        Contest, verbose_name=_("contest"), on_delete=models.PROTECT, related_name="awards"
    )
    prize = models.ForeignKey(
        ContestPrize, verbose_name=_("prize"), on_delete=models.PROTECT, related_name="awards"
    )
    distributor = models.ForeignKey(
        "distributors.Distributor",
        verbose_name=_("distributor"),
        on_delete=models.PROTECT,
        related_name="contest_awards",
    )
    rank = models.PositiveIntegerField(_("rank"))
    value = models.DecimalField(_("result"), max_digits=14, decimal_places=2)
    bonus = models.OneToOneField(
        "commissions.Bonus",
        verbose_name=_("cash paid"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contest_award",
    )
    awarded_at = models.DateTimeField(_("awarded"), default=timezone.now)

    class Meta:
        verbose_name = _("contest award")
        verbose_name_plural = _("contest awards")
        ordering = ["contest", "rank", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["contest", "prize", "distributor"], name="one_award_per_prize_and_winner"
            ),
        ]

    def __str__(self):
        return f"{self.contest} #{self.rank} {self.distributor}"
