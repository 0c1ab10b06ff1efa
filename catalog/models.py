from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey


class BilingualNameMixin(models.Model):
    """Catalog content is written in Chinese, with an optional English name."""

    name = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.name

    @property
    def display_name(self) -> str:
        if self.name_en and (get_language() or "").startswith("en"):
            return self.name_en
        return self.name


class Category(MPTTModel, BilingualNameMixin):
    """A category (分类) in the catalog tree."""

    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    parent = TreeForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class MPTTMeta:
        order_insertion_by = ["name"]

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def get_absolute_url(self):
        return reverse("catalog:category", args=[self.slug])


class ProductQuerySet(models.QuerySet):
    def visible(self):
        return self.filter(is_active=True, category__is_active=True)


class Product(BilingualNameMixin):
    """A product (商品); what is bought is one of its variants."""

    category = TreeForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="products"
    )
    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    description = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["-created_at", "pk"]

    def get_absolute_url(self):
        return reverse("catalog:product", args=[self.slug])

    @property
    def display_description(self) -> str:
        if self.description_en and (get_language() or "").startswith("en"):
            return self.description_en
        return self.description


class Variant(BilingualNameMixin):
    """A sellable variant (规格) of a product: its own SKU, price and stock."""

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="variants"
    )
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    price = models.DecimalField(
        _("price"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    stock = models.PositiveIntegerField(_("stock"), default=0)
    low_stock_threshold = models.PositiveIntegerField(_("low stock at or below"), default=5)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ["product", "price", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(stock__gte=0), name="variant_stock_gte_0"),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="variant_price_gte_0"),
        ]

    def __str__(self):
        return f"{self.product.name} · {self.name} ({self.sku})"

    @property
    def is_purchasable(self) -> bool:
        return self.is_active and self.product.is_active


class StockMovement(models.Model):
    """One change of a variant's stock (库存变动), append-only.

    ``quantity`` is signed (+ in, - out) and ``stock_after`` is the variant's
    stock right after the change, so the rows of a variant read like a ledger:
    every row's ``stock_after`` is the previous one's plus its ``quantity``.
    """

    class Kind(models.TextChoices):
        RECEIVED = "received", _("Received")
        SOLD = "sold", _("Sold")
        RELEASED = "released", _("Released (order cancelled)")
        RETURNED = "returned", _("Returned (refund)")
        ADJUSTED = "adjusted", _("Adjusted")

    variant = models.ForeignKey(
        Variant, verbose_name=_("variant"), on_delete=models.PROTECT, related_name="movements"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    quantity = models.IntegerField(_("quantity"))
    stock_after = models.PositiveIntegerField(_("stock after"))
    reference = models.CharField(
        _("reference"), max_length=64, blank=True, help_text=_("Order number, delivery note…")
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["variant", "-created_at"], name="movement_variant_time")]
        constraints = [
            # Ranges, not equality: a zero quantity is never a movement.
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0) | models.Q(quantity__lt=0),
                name="movement_quantity_not_zero",
            ),
        ]

    def __str__(self):
        return f"{self.variant.sku} {self.quantity:+d} ({self.get_kind_display()})"
