import secrets
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import SingletonModel
from core.money import ZERO, format_cny, to_cents

from .tracking.carriers import display_name


def new_order_number() -> str:
    """20251125 + 10 random digits: sortable by day, not guessable in sequence."""
    return timezone.localdate().strftime("%Y%m%d") + f"{secrets.randbelow(10**10):010d}"


class Order(models.Model):
    """An order (订单). Its status moves only through `TRANSITIONS`."""

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("Awaiting payment")
        PAID = "paid", _("Paid")
        SHIPPED = "shipped", _("Shipped")
        DELIVERED = "delivered", _("Delivered")
        PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    # The one place that decides what may follow what. The status tells the
    # latest thing that happened: a partially refunded order that is then
    # shipped shows SHIPPED (the refunds stay on `refunded_total`). Staying in
    # DELIVERED records the shopper's receipt after the carrier's delivery;
    # staying in PARTIALLY_REFUNDED records a second partial refund. SHIPPED ->
    # COMPLETED is the merchant closing an order by hand.
    TRANSITIONS = {
        Status.PENDING_PAYMENT: {Status.PAID, Status.CANCELLED},
        Status.PAID: {Status.SHIPPED, Status.REFUNDED, Status.PARTIALLY_REFUNDED},
        Status.SHIPPED: {
            Status.DELIVERED,
            Status.COMPLETED,
            Status.REFUNDED,
            Status.PARTIALLY_REFUNDED,
        },
        Status.DELIVERED: {
            Status.DELIVERED,
            Status.COMPLETED,
            Status.REFUNDED,
            Status.PARTIALLY_REFUNDED,
        },
        Status.PARTIALLY_REFUNDED: {
            Status.PARTIALLY_REFUNDED,
            Status.SHIPPED,
            Status.DELIVERED,
            Status.COMPLETED,
            Status.REFUNDED,
        },
        Status.COMPLETED: set(),
        Status.CANCELLED: set(),
        Status.REFUNDED: set(),
    }
    # The time field each status stamps the first time the order reaches it.
    STAMPS = {
        Status.PAID: "paid_at",
        Status.SHIPPED: "shipped_at",
        Status.DELIVERED: "delivered_at",
        Status.COMPLETED: "completed_at",
        Status.CANCELLED: "closed_at",
        Status.REFUNDED: "closed_at",
    }
    # Statuses in which the money was received and (at least partly) kept:
    # commissions accrue; a partial refund reverses them in proportion.
    PAID_STATUSES = (
        Status.PAID,
        Status.SHIPPED,
        Status.DELIVERED,
        Status.PARTIALLY_REFUNDED,
        Status.COMPLETED,
    )
    # Statuses in which the shopper may still ask for an after-sale refund.
    AFTER_SALE_STATUSES = (
        Status.PAID,
        Status.SHIPPED,
        Status.DELIVERED,
        Status.PARTIALLY_REFUNDED,
    )

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
    # What the goods cost the shopper: their list prices less `sale_discount` (限时折扣)
    # and `coupon_discount` (优惠券); the commission base, and what refunds of goods
    # give back at most. Each line keeps its own share of both (OrderLine).
    subtotal = models.DecimalField(_("goods total"), max_digits=12, decimal_places=2)
    sale_discount = models.DecimalField(
        _("time-limited discount"), max_digits=12, decimal_places=2, default=0
    )
    coupon_discount = models.DecimalField(
        _("coupon discount"), max_digits=12, decimal_places=2, default=0
    )
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
    # The commission plan version in force when the order was placed: it decided
    # who is credited, and accrual pays by it.
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
    # The shopper's language at checkout: their emails are written in it.
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    # Money given back so far (goods and shipping), by after-sale refunds.
    refunded_total = models.DecimalField(
        _("refunded amount"), max_digits=12, decimal_places=2, default=0
    )
    created_at = models.DateTimeField(_("placed"), auto_now_add=True, db_index=True)
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    # Receipt confirmed by the shopper, or automatically AUTO_CONFIRM_DAYS after
    # shipping; the after-sale window (AFTER_SALE_DAYS) runs from here.
    received_at = models.DateTimeField(_("receipt confirmed"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    closed_at = models.DateTimeField(_("cancelled or refunded"), null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-pk"]
        # Reports read orders by the day they were paid, and count their customers
        # from the index alone (reports.summaries), and the orders completed and
        # cancelled on a day.
        indexes = [
            models.Index(fields=["paid_at", "user"], name="order_paid_at"),
            models.Index(fields=["completed_at"], name="order_completed_at"),
            models.Index(fields=["closed_at"], name="order_closed_at"),
        ]
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
            models.CheckConstraint(
                condition=models.Q(refunded_total__gte=0, refunded_total__lte=models.F("total")),
                name="order_refunds_within_total",
            ),
            models.CheckConstraint(
                condition=models.Q(sale_discount__gte=0, coupon_discount__gte=0),
                name="order_discounts_gte_0",
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

    @property
    def discount_total(self) -> Decimal:
        return self.sale_discount + self.coupon_discount

    @property
    def list_subtotal(self) -> Decimal:
        """The goods at their list prices, before any discount."""
        return self.subtotal + self.discount_total

    @property
    def can_confirm_receipt(self) -> bool:
        """Shipped, and the shopper has not confirmed receipt yet (确认收货)."""
        return self.shipped_at is not None and self.received_at is None

    @property
    def badge_status(self) -> str:
        """The status a badge shows: DELIVERED is the carrier's signature (已签收) or,
        once the shopper confirmed, "received" (已确认收货), whichever came first."""
        if self.status == self.Status.DELIVERED and self.received_at is not None:
            return "received"
        return self.status

    @property
    def badge_label(self) -> str:
        if self.badge_status == "received":
            return _("Receipt confirmed")
        return self.get_status_display()

    @property
    def carrier_name(self) -> str:
        return display_name(self.carrier)

    carrier_name.fget.short_description = _("carrier")  # the admin's column title

    def unpaid_deadline(self, timeout: timedelta | None = None):
        """When this order is cancelled if it is still unpaid: the unpaid timeout
        (ShippingSettings', read unless given) after it was placed."""
        if timeout is None:
            timeout = ShippingSettings.get_solo().unpaid_timeout
        return self.created_at + timeout

    @property
    def after_sale_deadline(self):
        """Until when the shopper may ask for a refund (None: not received yet)."""
        if self.received_at is None:
            return None
        return self.received_at + timedelta(days=settings.AFTER_SALE_DAYS)


class OrderLine(models.Model):
    """One line of an order, with a snapshot of what was bought at what price.

    `unit_price` is the list price and `line_total` the list price times the
    quantity; `sale_discount` and `coupon_discount` are the line's shares of the
    order's discounts (to the fen, marketing.pricing.allocate) and `paid_amount`
    what is left: the line's commission base and the most its refund gives back.
    A gift (满赠) is a line at 0.00.
    """

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
    sale_discount = models.DecimalField(
        _("time-limited discount"), max_digits=12, decimal_places=2, default=0
    )
    coupon_discount = models.DecimalField(
        _("coupon discount"), max_digits=12, decimal_places=2, default=0
    )
    paid_amount = models.DecimalField(_("paid"), max_digits=12, decimal_places=2)
    is_gift = models.BooleanField(_("gift"), default=False)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="orderline_quantity_gte_1"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    sale_discount__gte=0, coupon_discount__gte=0, paid_amount__gte=0
                ),
                name="orderline_amounts_gte_0",
            ),
        ]

    def __str__(self):
        return f"{self.product_name} {self.variant_name} × {self.quantity}"

    @property
    def discount(self) -> Decimal:
        return self.sale_discount + self.coupon_discount

    @property
    def unit_sale_price(self) -> Decimal:
        """The price per unit after the time-limited discount (before the coupon)."""
        return self.unit_price - self.sale_discount / self.quantity


# The note that tells the shopper's receipt (确认收货) apart from the carrier's
# delivery: both move an order to DELIVERED.
RECEIPT_NOTE = "receipt confirmed"


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

    @property
    def confirms_receipt(self) -> bool:
        """The shopper (or the automatic confirmation) took delivery, not the carrier."""
        return self.note.startswith(RECEIPT_NOTE)


class Shipment(models.Model):
    """A parcel handed to a carrier (发货) for one order."""

    order = models.OneToOneField(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="shipment"
    )
    carrier = models.CharField(_("carrier"), max_length=50)
    tracking_number = models.CharField(_("tracking number"), max_length=64)
    shipped_at = models.DateTimeField(_("shipped"))
    # Set when the carrier reports the parcel signed for; polling stops then.
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True)
    # When the tracking aggregator accepted to push this parcel's news (None: not
    # asked, or it gave up, and the next poll asks again).
    subscribed_at = models.DateTimeField(_("push subscribed"), null=True, blank=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["-shipped_at", "-pk"]
        indexes = [models.Index(fields=["tracking_number"], name="shipment_tracking_number")]

    def __str__(self):
        return f"{self.carrier_name} {self.tracking_number}"

    @property
    def carrier_name(self) -> str:
        """The carrier's name in the reader's language (a stored non-code reads as stored)."""
        return display_name(self.carrier)

    carrier_name.fget.short_description = _("carrier")  # the admin's column title


class TrackingEvent(models.Model):
    """One step of a parcel's journey (物流轨迹), from the carrier or typed by staff."""

    class Source(models.TextChoices):
        ADMIN = "admin", _("Staff")
        CARRIER = "carrier", _("Carrier")

    shipment = models.ForeignKey(
        Shipment, verbose_name=_("shipment"), on_delete=models.CASCADE, related_name="events"
    )
    time = models.DateTimeField(_("time"))
    place = models.CharField(_("place"), max_length=100, blank=True)
    description = models.CharField(_("description"), max_length=255)
    source = models.CharField(
        _("source"), max_length=10, choices=Source.choices, default=Source.ADMIN
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["time", "pk"]
        constraints = [
            # Polling a carrier again stores nothing twice.
            models.UniqueConstraint(
                fields=["shipment", "time", "description"], name="one_tracking_event_per_step"
            ),
        ]

    def __str__(self):
        return f"{self.time:%Y-%m-%d %H:%M} {self.description}"


class AfterSaleRequest(models.Model):
    """A shopper's refund request (售后申请) for a whole order or some of its lines.

    The amount is computed on the server: the goods of the chosen lines, plus
    the shipping fee only for a whole-order refund of an order not yet shipped
    (once the parcel left, the carrier was paid). APPROVED is the open state of
    a refund the gateway has not confirmed yet; with the sandbox gateway,
    approval refunds at once and the request goes straight to REFUNDED.
    """

    class Kind(models.TextChoices):
        WHOLE_ORDER = "whole", _("Refund the whole order")
        LINES = "lines", _("Refund some items")

    class Reason(models.TextChoices):
        NOT_RECEIVED = "not_received", _("Not received")
        DAMAGED = "damaged", _("Damaged or defective")
        WRONG_ITEM = "wrong_item", _("Wrong item")
        NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
        CHANGED_MIND = "changed_mind", _("Changed my mind")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        REFUNDED = "refunded", _("Refunded")

    OPEN_STATUSES = (Status.REQUESTED, Status.APPROVED)

    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.PROTECT, related_name="after_sales"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    reason_text = models.CharField(_("details"), max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED
    )
    goods_amount = models.DecimalField(_("goods refunded"), max_digits=12, decimal_places=2)
    shipping_amount = models.DecimalField(
        _("shipping refunded"), max_digits=12, decimal_places=2, default=0
    )
    amount = models.DecimalField(_("refund amount"), max_digits=12, decimal_places=2)
    restock = models.BooleanField(_("put the goods back in stock"), default=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("after-sale request")
        verbose_name_plural = _("after-sale requests")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(status__in=["requested", "approved"]),
                name="one_open_after_sale_per_order",
            ),
            models.CheckConstraint(
                condition=models.Q(goods_amount__gte=0, shipping_amount__gte=0, amount__gt=0),
                name="after_sale_amounts_positive",
            ),
        ]

    def __str__(self):
        return f"{self.order} {self.get_kind_display()} {format_cny(self.amount)}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class AfterSaleLine(models.Model):
    """How many of one order line an after-sale request gives back."""

    request = models.ForeignKey(AfterSaleRequest, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        OrderLine, verbose_name=_("order line"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("after-sale line")
        verbose_name_plural = _("after-sale lines")
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "order_line"], name="one_after_sale_line_per_order_line"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="after_sale_line_quantity_gte_1"
            ),
        ]

    def __str__(self):
        return f"{self.order_line} → {self.quantity}"


def _default_flat_fee():
    return settings.SHIPPING_FLAT_FEE


def _default_free_above():
    return settings.SHIPPING_FREE_ABOVE


def _default_unpaid_minutes():
    return int(settings.ORDER_PAYMENT_TIMEOUT.total_seconds() // 60)


class ShippingSettings(SingletonModel):
    """Shipping and payment-timeout rules (配送设置): one row, edited in the admin.

    The first row takes its values from the old settings (SHIPPING_FLAT_FEE,
    SHIPPING_FREE_ABOVE, ORDER_PAYMENT_TIMEOUT_MINUTES), so a deployment keeps
    behaving as before until staff change it.
    """

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

    @property
    def unpaid_timeout(self) -> timedelta:
        return timedelta(minutes=self.unpaid_timeout_minutes)

    def fee_for(self, subtotal: Decimal) -> Decimal:
        """The shipping fee of an order whose goods cost `subtotal`."""
        return ZERO if subtotal >= self.free_above else to_cents(self.flat_fee)
