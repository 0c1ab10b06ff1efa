"""The customer record (客户关系): figures per customer, tags, notes and segments.

`CustomerProfile` rows are kept by crm.segments (a nightly task, and on demand):
the figures come from the customer's orders, and the segment from those figures
against the merchant's thresholds (SegmentSettings). Tags and notes are staff's.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.models import BilingualNameMixin, SingletonModel
from core.money import to_cents


class Segment(models.TextChoices):
    """Automatic segments by recency, frequency and money spent (RFM)."""

    PROSPECT = "prospect", _("Never bought")
    NEW = "new", _("New")
    ACTIVE = "active", pgettext_lazy("customer segment", "Active")
    HIGH_VALUE = "high_value", _("High value")
    AT_RISK = "at_risk", _("At risk")
    DORMANT = "dormant", _("Dormant")


class Tag(BilingualNameMixin):
    """A customer tag staff set by hand (客户标签), e.g. 团购客户, 酒店."""

    color = models.CharField(_("colour"), max_length=7, default="#9b1c1c")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("customer tag")
        verbose_name_plural = _("customer tags")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["name"], name="unique_tag_name")]


class CustomerProfile(models.Model):
    """One customer's record: their figures (kept by crm.segments), segment and tags."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="customer_profile",
    )
    # Orders paid (whatever happened after), what they paid and what refunds gave back.
    orders_count = models.PositiveIntegerField(_("paid orders"), default=0)
    total_paid = models.DecimalField(_("paid"), max_digits=14, decimal_places=2, default=0)
    total_refunded = models.DecimalField(_("refunded"), max_digits=14, decimal_places=2, default=0)
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    segment = models.CharField(
        _("segment"), max_length=16, choices=Segment.choices, default=Segment.PROSPECT
    )
    segment_since = models.DateTimeField(_("in this segment since"), default=timezone.now)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    computed_at = models.DateTimeField(_("figures as of"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-last_order_at", "-pk"]
        indexes = [
            models.Index(fields=["segment"], name="profile_segment"),
            models.Index(fields=["-total_paid"], name="profile_total_paid"),
        ]

    def __str__(self):
        return self.user.get_username()

    @property
    def total_spent(self) -> Decimal:
        """What the customer paid and kept."""
        return self.total_paid - self.total_refunded

    @property
    def average_order_value(self) -> Decimal | None:
        if not self.orders_count:
            return None
        return to_cents(self.total_paid / self.orders_count)


class CustomerNote(models.Model):
    """A note staff wrote about a customer (跟进记录); kept, never edited."""

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="staff_notes",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    body = models.TextField(_("note"), max_length=2000)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("staff note")
        verbose_name_plural = _("staff notes")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.customer_id}: {self.body[:40]}"


class SegmentSettings(SingletonModel):
    """The thresholds of the automatic segments (客户分群规则), edited by the merchant."""

    new_days = models.PositiveSmallIntegerField(
        _("new: first order within (days)"), default=30, validators=[MinValueValidator(1)]
    )
    at_risk_days = models.PositiveSmallIntegerField(
        _("at risk: no order for (days)"), default=90, validators=[MinValueValidator(1)]
    )
    dormant_days = models.PositiveSmallIntegerField(
        _("dormant: no order for (days)"), default=180, validators=[MinValueValidator(1)]
    )
    high_value_spent = models.DecimalField(
        _("high value: spent at least"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("3000.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    high_value_orders = models.PositiveSmallIntegerField(
        _("high value: at least (paid orders)"), default=3, validators=[MinValueValidator(1)]
    )

    class Meta:
        verbose_name = _("segment settings")
        verbose_name_plural = _("segment settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="segment_settings_singleton"),
            models.CheckConstraint(
                condition=models.Q(dormant_days__gt=models.F("at_risk_days")),
                name="segment_dormant_after_at_risk",
            ),
        ]

    def __str__(self):
        return str(_("Segment settings"))


class SavedSegment(models.Model):
    """A saved customer filter (保存的客户群): for exports and for issuing coupons."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    segments = models.JSONField(
        _("segments"), default=list, blank=True, help_text=_("Empty: any segment.")
    )
    tags = models.ManyToManyField(
        Tag, verbose_name=_("with any of the tags"), blank=True, related_name="+"
    )
    min_spent = models.DecimalField(
        _("spent at least"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    min_orders = models.PositiveIntegerField(_("at least (paid orders)"), null=True, blank=True)
    ordered_within_days = models.PositiveSmallIntegerField(
        _("ordered within (days)"), null=True, blank=True
    )
    bound_to = models.ForeignKey(
        "distributors.Distributor",
        verbose_name=_("bound to distributor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved segment")
        verbose_name_plural = _("saved segments")
        ordering = ["name"]

    def __str__(self):
        return self.name
