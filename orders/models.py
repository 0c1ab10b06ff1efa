import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.money import ZERO, to_cents


def new_order_number() -> str:
    """20251125 + 10 random digits: sortable by day, not guessable in sequence."""
    return timezone.localdate().strftime("%Y%m%d") + f"{secrets.randbelow(10**10):010d}"


class Order(models.Model):
    """An order (订单). Its status moves only through `TRANSITIONS`."""

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("Awaiting payment")
        PAID = "paid", _("Paid")
        SHIPPED = "shipped", _("Shipped")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    # The one place that decides what may follow what.
    TRANSITIONS = {
        Status.PENDING_PAYMENT: {Status.PAID, Status.CANCELLED},
        Status.PAID: {Status.SHIPPED, Status.REFUNDED},
        Status.SHIPPED: {Status.COMPLETED, Status.REFUNDED},
        Status.COMPLETED: set(),
        Status.CANCELLED: set(),
        Status.REFUNDED: set(),
    }
    # Statuses in which the money was received and is kept (commissions may accrue).
    PAID_STATUSES = (Status.PAID, Status.SHIPPED, Status.COMPLETED)

    number = models.CharField(
        _("order number"), max_length=32, unique=True, default=new_order_number
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("shopper"),
        on_delete=models.PROTECT,
        related_name="orders",
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.PENDING_PAYMENT,
        db_index=True,
    )
    subtotal = models.DecimalField(_("goods total"), max_digits=12, decimal_places=2)
    shipping_fee = models.DecimalField(_("shipping"), max_digits=12, decimal_places=2)
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2)
    recipient_name = models.CharField(_("recipient"), max_length=50)
    recipient_phone = models.CharField(_("phone"), max_length=20)
    shipping_address = models.CharField(_("address"), max_length=255)
    note = models.CharField(_("note"), max_length=200, blank=True)
    distributor = models.ForeignKey(
        "distributors.Distributor",
        verbose_name=_("attributed distributor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
    )
    # Distributor ids, nearest first, fixed when the order is placed: moving a
    # distributor later never changes who earns on this order.
    referral_chain = models.JSONField(_("referral chain"), default=list, blank=True)
    # The commission plan version in force when the order was paid.
    commission_plan = models.ForeignKey(
        "commissions.CommissionPlan",
        verbose_name=_("commission plan"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    checkout_token = models.UUIDField(_("checkout token"), unique=True, null=True, editable=False)
    carrier = models.CharField(_("carrier"), max_length=50, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("placed"), auto_now_add=True, db_index=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    closed_at = models.DateTimeField(_("cancelled or refunded"), null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(subtotal__gte=0), name="order_subtotal_gte_0"
            ),
            # total = subtotal + shipping is computed in place_order; an equality
            # check would compare floats on SQLite (5.72 + 10.00 != 15.72 there).
            models.CheckConstraint(
                condition=models.Q(shipping_fee__gte=0, total__gte=models.F("subtotal")),
                name="order_total_covers_goods",
            ),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("orders:detail", args=[self.number])

    def can_become(self, status: str) -> bool:
        return status in self.TRANSITIONS[self.Status(self.status)]

    @property
    def is_paid(self) -> bool:
        return self.status in self.PAID_STATUSES


class OrderLine(models.Model):
    """One line of an order, with a snapshot of what was bought at what price."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(
        "catalog.Variant", verbose_name=_("variant"), on_delete=models.PROTECT, related_name="+"
    )
    product_name = models.CharField(_("product"), max_length=200)
    variant_name = models.CharField(_("variant"), max_length=200)
    sku = models.CharField(_("SKU"), max_length=64)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField(_("quantity"))
    line_total = models.DecimalField(_("line total"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="orderline_quantity_gte_1"
            ),
        ]

    def __str__(self):
        return f"{self.product_name} {self.variant_name} × {self.quantity}"


class OrderEvent(models.Model):
    """Every status change of an order, with who made it (None: the system)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Order.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.order_id}: {self.from_status or '-'} → {self.to_status}"


def _default_flat_fee():
    return settings.SHIPPING_FLAT_FEE


def _default_free_above():
    return settings.SHIPPING_FREE_ABOVE


def _default_unpaid_minutes():
    return int(settings.ORDER_PAYMENT_TIMEOUT.total_seconds() // 60)


class ShippingSettings(models.Model):
    """Shipping and payment-timeout rules (配送设置): one row, edited in the admin.

    The first row takes its values from the old settings (SHIPPING_FLAT_FEE,
    SHIPPING_FREE_ABOVE, ORDER_PAYMENT_TIMEOUT_MINUTES), so a deployment keeps
    behaving as before until staff change it.
    """

    SINGLETON_PK = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_PK, editable=False)
    flat_fee = models.DecimalField(
        _("flat shipping fee"),
        max_digits=12,
        decimal_places=2,
        default=_default_flat_fee,
        validators=[MinValueValidator(Decimal("0"))],
    )
    free_above = models.DecimalField(
        _("free shipping from"),
        max_digits=12,
        decimal_places=2,
        default=_default_free_above,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Orders whose goods total reaches this amount ship for free."),
    )
    unpaid_timeout_minutes = models.PositiveIntegerField(
        _("unpaid orders are cancelled after (minutes)"),
        default=_default_unpaid_minutes,
        validators=[MinValueValidator(1)],
        help_text=_("Also how long a checkout page stays valid."),
    )

    class Meta:
        verbose_name = _("shipping settings")
        verbose_name_plural = _("shipping settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="shipping_settings_singleton"),
            models.CheckConstraint(
                condition=models.Q(flat_fee__gte=0, free_above__gte=0),
                name="shipping_settings_amounts_gte_0",
            ),
            models.CheckConstraint(
                condition=models.Q(unpaid_timeout_minutes__gte=1),
                name="shipping_settings_timeout_gte_1",
            ),
        ]

    def __str__(self):
        return str(_("Shipping settings"))

    @classmethod
    def get_solo(cls) -> "ShippingSettings":
        """The one row, created with the defaults the first time it is asked for."""
        obj, _created = cls.objects.get_or_create(pk=cls.SINGLETON_PK)
        return obj

    @property
    def unpaid_timeout(self) -> timedelta:
        return timedelta(minutes=self.unpaid_timeout_minutes)

    def fee_for(self, subtotal: Decimal) -> Decimal:
        """The shipping fee of an order whose goods cost `subtotal`."""
        return ZERO if subtotal >= self.free_above else to_cents(self.flat_fee)
