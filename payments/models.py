import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


def new_payment_reference() -> str:
    """Our id for a payment attempt, sent to the gateway as out_trade_no."""
    return "P" + secrets.token_hex(12).upper()


GATEWAY_NAMES = {
    "sandbox": _("Sandbox (test payment)"),
    "alipay": _("Alipay"),
    "wechat": _("WeChat Pay"),
}
GATEWAY_CHOICES = list(GATEWAY_NAMES.items())


class Payment(models.Model):
    """One attempt to pay one order through one gateway (支付)."""

    class Status(models.TextChoices):
        CREATED = "created", _("Awaiting payment")
        SUCCEEDED = "succeeded", _("Paid")
        REFUNDED = "refunded", _("Refunded")
        CLOSED = "closed", _("Closed unpaid")

    class Channel(models.TextChoices):
        """The way the shopper pays (支付方式); gateways.base names each."""

        SANDBOX = "sandbox", _("Sandbox page")
        PAGE = "page", _("Alipay on a computer")
        WAP = "wap", _("Alipay on a phone")
        NATIVE = "native", _("WeChat Pay QR code")
        H5 = "h5", _("WeChat Pay on a phone")
        JSAPI = "jsapi", _("WeChat Pay in WeChat")

    order = models.ForeignKey(
        "orders.Order", verbose_name=_("order"), on_delete=models.PROTECT, related_name="payments"
    )
    gateway = models.CharField(_("gateway"), max_length=20, choices=GATEWAY_CHOICES)
    channel = models.CharField(_("way to pay"), max_length=16, choices=Channel.choices, blank=True)
    reference = models.CharField(
        _("reference"), max_length=32, unique=True, default=new_payment_reference
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.CREATED
    )
    gateway_trade_no = models.CharField(_("gateway trade number"), max_length=64, blank=True)
    refund_reference = models.CharField(_("refund reference"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    succeeded_at = models.DateTimeField(_("paid"), null=True, blank=True)
    refunded_at = models.DateTimeField(_("refunded"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # What the gateway gave us to pay with (a QR code_url, JSAPI parameters, a
    # redirect URL), kept so the cashier reopens the same trade instead of a new one.
    checkout = models.JSONField(_("checkout"), default=dict, blank=True, editable=False)
    # When the shopper was sent to pay; reconciliation asks the gateway some minutes later.
    started_at = models.DateTimeField(_("sent to pay"), null=True, blank=True)
    last_queried_at = models.DateTimeField(_("last asked the gateway"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "gateway_trade_no"],
                condition=~models.Q(gateway_trade_no=""),
                name="one_payment_per_gateway_trade",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_gt_0"),
        ]

    def __str__(self):
        return self.reference

    @property
    def gateway_name(self) -> str:
        return str(GATEWAY_NAMES.get(self.gateway, self.gateway))


class PaymentNotification(models.Model):
    """A verified notification a gateway sent us, or a query's answer, kept for audit (回调记录)."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("payment")
        REFUND = "refund", _("refund")
        TRANSFER = "transfer", _("transfer")
        QUERY = "query", _("query")

    gateway = models.CharField(_("gateway"), max_length=20, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PAYMENT)
    # Null for a verified notification that matched none of our payments.
    payment = models.ForeignKey(
        Payment,
        verbose_name=_("payment"),
        on_delete=models.PROTECT,
        related_name="notifications",
        null=True,
        blank=True,
    )
    # The provider's id of the notification: a replay of it is a duplicate.
    notification_id = models.CharField(_("notification id"), max_length=64, blank=True)
    payload = models.JSONField(_("payload"))
    outcome = models.CharField(_("outcome"), max_length=64)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment notification")
        verbose_name_plural = _("payment notifications")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["gateway", "kind", "notification_id"],
                condition=~models.Q(notification_id=""),
                name="one_record_per_notification",
            ),
        ]

    def __str__(self):
        return f"{self.payment_id} {self.outcome}"


class Refund(models.Model):
    """Money given back through the payment's gateway (退款), whole or in part.

    One row per refund the gateway accepted, with its reference; an after-sale
    request is refunded at most once (unique).
    """

    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="refunds"
    )
    after_sale = models.OneToOneField(
        "orders.AfterSaleRequest",
        verbose_name=_("after-sale request"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refund",
    )

    class Status(models.TextChoices):
        PROCESSING = "processing", _("Processing")  # accepted, the money not back yet
        SUCCEEDED = "succeeded", _("Refunded")
        FAILED = "failed", _("Failed")

    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    # Our name for the refund at the gateway (out_request_no): one per refund, so
    # a retried request is recognised by the gateway and never paid twice.
    request_no = models.CharField(_("refund request number"), max_length=64, unique=True)
    gateway_reference = models.CharField(_("gateway refund id"), max_length=64, blank=True)
    # Only SUCCEEDED money is back with the shopper; PROCESSING is settled by the
    # gateway's refund notification or by reconciliation's query.
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SUCCEEDED
    )
    # Why it FAILED, or why a PROCESSING refund is stuck until finance acts.
    failure_reason = models.CharField(_("why it failed"), max_length=255, blank=True)
    succeeded_at = models.DateTimeField(_("money back"), null=True, blank=True)
    # A FAILED refund asked again under a new number: once, so it is never paid twice.
    retried_as = models.OneToOneField(
        "self",
        verbose_name=_("tried again as"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="retry_of",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("refunded"), auto_now_add=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_gt_0"),
        ]

    def __str__(self):
        return f"{self.payment} -{self.amount}"


class Transfer(models.Model):
    """Money sent from the merchant's gateway account to a payee's (转账), e.g. a withdrawal.

    `bill_no` is our number for it at the gateway (Alipay out_biz_no, WeChat
    out_bill_no): the gateway pays one bill number once, so asking again after
    a timeout or a crash can never pay twice. Written by payments.transfers only.
    """

    class Status(models.TextChoices):
        PROCESSING = "processing", _("Processing")
        WAITING_CONFIRMATION = "waiting_confirmation", _("Waiting for the payee to accept")
        SUCCEEDED = "succeeded", _("Paid")
        FAILED = "failed", _("Failed")

    OPEN = (Status.PROCESSING, Status.WAITING_CONFIRMATION)

    gateway = models.CharField(_("gateway"), max_length=20, choices=GATEWAY_CHOICES)
    bill_no = models.CharField(_("bill number"), max_length=64, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    account = models.CharField(_("payee account"), max_length=128)
    name = models.CharField(_("payee name"), max_length=100)
    remark = models.CharField(_("remark"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.PROCESSING
    )
    gateway_reference = models.CharField(_("gateway transfer id"), max_length=64, blank=True)
    failure_reason = models.CharField(_("why it failed"), max_length=255, blank=True)
    # WeChat's package_info: the payee's WeChat needs it to accept the transfer.
    confirmation = models.TextField(_("confirmation package"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    last_queried_at = models.DateTimeField(_("last asked the gateway"), null=True, blank=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="transfer_amount_gt_0"),
        ]

    def __str__(self):
        return self.bill_no

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class BillCheck(models.Model):
    """One day's bill of one gateway compared with our payments and refunds (对账)."""

    gateway = models.CharField(_("gateway"), max_length=20, choices=GATEWAY_CHOICES)
    day = models.DateField(_("bill date"))
    gateway_lines = models.PositiveIntegerField(_("lines in the gateway's bill"), default=0)
    our_lines = models.PositiveIntegerField(_("our payments and refunds"), default=0)
    gateway_total = models.DecimalField(
        _("gateway's net total"), max_digits=14, decimal_places=2, default=0
    )
    our_total = models.DecimalField(_("our net total"), max_digits=14, decimal_places=2, default=0)
    checked_at = models.DateTimeField(_("checked"), auto_now=True)

    class Meta:
        verbose_name = _("bill check")
        verbose_name_plural = _("bill checks")
        ordering = ["-day", "gateway"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "day"], name="one_bill_check_per_day"),
        ]

    def __str__(self):
        return f"{self.get_gateway_display()} {self.day}"


class BillDifference(models.Model):
    """A line where the gateway's bill and our records disagree, for finance to resolve."""

    class Kind(models.TextChoices):
        MISSING_HERE = "missing_here", _("In the gateway's bill, not in ours")
        MISSING_THERE = "missing_there", _("In ours, not in the gateway's bill")
        AMOUNT_DIFFERS = "amount_differs", _("Amounts differ")

    check_run = models.ForeignKey(
        BillCheck,
        verbose_name=_("bill check"),
        on_delete=models.CASCADE,
        related_name="differences",
    )
    kind = models.CharField(_("difference"), max_length=20, choices=Kind.choices)

    class LineKind(models.TextChoices):
        PAYMENT = "payment", pgettext_lazy("bill line", "Payment")
        REFUND = "refund", pgettext_lazy("bill line", "Refund")

    line_kind = models.CharField(_("line"), max_length=16, choices=LineKind.choices)
    reference = models.CharField(_("our reference"), max_length=64)
    gateway_reference = models.CharField(_("gateway reference"), max_length=64, blank=True)
    our_amount = models.DecimalField(
        _("our amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    gateway_amount = models.DecimalField(
        _("gateway amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("bill difference")
        verbose_name_plural = _("bill differences")
        ordering = ["check_run", "kind", "reference"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.reference}"
