import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def new_payment_reference() -> str:
    """Our id for a payment attempt, sent to the gateway as out_trade_no."""
    return "P" + secrets.token_hex(12).upper()


GATEWAY_NAMES = {
    "sandbox": _("Sandbox (test payment)"),
    "alipay": _("Alipay"),
    "wechat": _("WeChat Pay"),
}


class Payment(models.Model):
    """One attempt to pay one order through one gateway (支付)."""

    class Status(models.TextChoices):
        CREATED = "created", _("Awaiting payment")
        SUCCEEDED = "succeeded", _("Paid")
        REFUNDED = "refunded", _("Refunded")

    order = models.ForeignKey(
        "orders.Order", verbose_name=_("order"), on_delete=models.PROTECT, related_name="payments"
    )
    gateway = models.CharField(_("gateway"), max_length=20)
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
    """A verified notification a gateway sent us, kept for audit (回调记录)."""

    payment = models.ForeignKey(
        Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="notifications"
    )
    payload = models.JSONField(_("payload"))
    outcome = models.CharField(_("outcome"), max_length=32)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment notification")
        verbose_name_plural = _("payment notifications")
        ordering = ["-received_at"]

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
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    # Our name for the refund at the gateway (out_request_no): one per refund, so
    # a retried request is recognised by the gateway and never paid twice.
    request_no = models.CharField(_("refund request number"), max_length=64, unique=True)
    gateway_reference = models.CharField(_("gateway refund id"), max_length=64)
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
