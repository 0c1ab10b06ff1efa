"""Daily summary rows (经营日报): what the dashboard and the sales reports read.

`reports.summaries` writes them: one DailySummary per day and one ProductDay /
DistributorDay per product and distributor that sold that day, each set rebuilt
whole for a day (delete and insert in one transaction), so a rebuild is safe to
repeat. Every figure is stamped by the time its event happened (an order by
paid_at, a refund by the time the money went back, a commission by its ledger
entry), so a past day's rows never change once the day is over.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

money_kwargs = {"max_digits": 14, "decimal_places": 2, "default": 0}


class DailySummary(models.Model):
    """The shop's figures of one day, in the shop's time zone."""

    day = models.DateField(_("day"), unique=True)
    orders_placed = models.PositiveIntegerField(_("orders placed"), default=0)
    paid_orders = models.PositiveIntegerField(_("paid orders"), default=0)
    paying_customers = models.PositiveIntegerField(_("paying customers"), default=0)
    # Totals (goods + shipping) of the orders paid this day: GMV (成交额).
    gmv = models.DecimalField(_("paid sales"), **money_kwargs)
    # Goods paid (the commission base), split by how the order came: no
    # distributor (direct, 直营), a one-tier chain, or a chain of two or three.
    paid_goods = models.DecimalField(_("paid goods"), **money_kwargs)
    direct_sales = models.DecimalField(_("direct sales"), **money_kwargs)
    single_tier_sales = models.DecimalField(_("one-tier distributor sales"), **money_kwargs)
    multi_tier_sales = models.DecimalField(_("multi-tier distributor sales"), **money_kwargs)
    refunds = models.DecimalField(_("refunded"), **money_kwargs)
    refund_count = models.PositiveIntegerField(_("refunds"), default=0)
    new_customers = models.PositiveIntegerField(_("new customers"), default=0)
    new_distributors = models.PositiveIntegerField(_("new distributors"), default=0)
    commissions_accrued = models.DecimalField(_("commissions accrued"), **money_kwargs)
    commissions_reversed = models.DecimalField(_("commissions reversed"), **money_kwargs)
    # Withdrawals paid out this day (money that left the merchant).
    commissions_paid = models.DecimalField(_("commissions paid"), **money_kwargs)
    orders_completed = models.PositiveIntegerField(_("orders completed"), default=0)
    orders_cancelled = models.PositiveIntegerField(_("orders cancelled"), default=0)
    built_at = models.DateTimeField(_("built"), auto_now=True)

    class Meta:
        verbose_name = _("daily summary")
        verbose_name_plural = _("daily summaries")
        ordering = ["-day"]

    def __str__(self):
        return self.day.isoformat()


class ProductDay(models.Model):
    """One product's sales on one day (orders paid that day)."""

    day = models.DateField(_("day"))
    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.CASCADE, related_name="+"
    )
    # The product's category when the day was built (a report groups by it).
    category = models.ForeignKey(
        "catalog.Category",
        verbose_name=_("category"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    orders = models.PositiveIntegerField(_("orders"), default=0)
    units = models.PositiveIntegerField(_("units"), default=0)
    sales = models.DecimalField(_("sales"), **money_kwargs)

    class Meta:
        verbose_name = _("product day")
        verbose_name_plural = _("product days")
        constraints = [
            models.UniqueConstraint(fields=["day", "product"], name="one_product_day"),
        ]
        indexes = [models.Index(fields=["day", "category"], name="product_day_category")]

    def __str__(self):
        return f"{self.day} {self.product_id}"


class DistributorDay(models.Model):
    """One distributor's day: the orders credited to them (paid that day) and the
    commissions their ledger received that day."""

    day = models.DateField(_("day"))
    distributor = models.ForeignKey(
        "distributors.Distributor",
        verbose_name=_("distributor"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    # The distributor's grade when the day was built (sales by grade group by it).
    grade = models.ForeignKey(
        "distributors.Grade",
        verbose_name=_("grade"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    orders = models.PositiveIntegerField(_("orders"), default=0)
    sales = models.DecimalField(_("sales"), **money_kwargs)
    commissions = models.DecimalField(_("commissions accrued"), **money_kwargs)

    class Meta:
        verbose_name = _("distributor day")
        verbose_name_plural = _("distributor days")
        constraints = [
            models.UniqueConstraint(fields=["day", "distributor"], name="one_distributor_day"),
        ]

    def __str__(self):
        return f"{self.day} {self.distributor_id}"


def export_upload_to(instance, filename: str) -> str:
    # An unguessable folder: the file is served through a view that checks who asks.
    return f"exports/{instance.token.hex}/{filename}"


class ExportJob(models.Model):
    """An export of a report run by a Celery task (导出任务), with its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"

    token = models.UUIDField(_("token"), unique=True, default=uuid.uuid4, editable=False)
    report = models.CharField(_("report"), max_length=40)
    params = models.JSONField(_("filters"), default=dict, blank=True)
    format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    rows_total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.FileField(_("file"), upload_to=export_upload_to, blank=True)
    error = models.CharField(_("error"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.report} ({self.get_status_display()})"

    @property
    def progress(self) -> int:
        """Percent done (0-100)."""
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)
