from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, validate_image_file_extension
from django.db import models, transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey

from core.models import BilingualNameMixin, localized

from .images import SIZES, make_thumbnails, thumbnail_name


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
        """Active products whose category and every category above it are active."""
        hidden_category = Category.objects.filter(
            tree_id=models.OuterRef("category__tree_id"),
            lft__lte=models.OuterRef("category__lft"),
            rght__gte=models.OuterRef("category__rght"),
            is_active=False,
        )
        return self.filter(is_active=True).exclude(models.Exists(hidden_category))


class InventoryOwnedFieldsMixin(models.Model):
    """Columns that only ``catalog.inventory`` writes are never written by ``save()``.

    An admin form, an import or any other code holding an instance read before a
    checkout would otherwise write its stale ``stock`` (or ``sold_count``) back
    over the sale: ``save()`` of an existing row updates every other column only.
    """

    INVENTORY_OWNED: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in self.INVENTORY_OWNED
            ]
        super().save(*args, **kwargs)


class Product(InventoryOwnedFieldsMixin, BilingualNameMixin):  # noqa: DJ008 (the mixin's __str__)
    """A product (商品); what is bought is one of its variants."""

    INVENTORY_OWNED = ("sold_count",)

    category = TreeForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="products"
    )
    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    description = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_featured = models.BooleanField(
        _("featured"), default=False, help_text=_("Shown on the home page (推荐).")
    )
    sold_count = models.PositiveIntegerField(
        _("sold"),
        default=0,
        editable=False,
        help_text=_("Units sold minus units returned; kept by catalog.inventory (销量)."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["-created_at", "pk"]
        indexes = [models.Index(fields=["is_featured", "-created_at"], name="product_featured_new")]

    def get_absolute_url(self):
        return reverse("catalog:product", args=[self.slug])

    @property
    def display_description(self) -> str:
        return localized(self.description, self.description_en)


# The storefront says "only N left" at or below this stock, and plain "in stock" above
# it, so a sale changes what a cached page says only at or below it (catalog.invalidation).
STOCK_SHOWN_UP_TO = 10
PICK_LIMIT = 99  # the quantity picker's top (orders.cart.MAX_QUANTITY)


def shown_stock(stock: int) -> int:
    """What the storefront may say of a stock: the number up to STOCK_SHOWN_UP_TO, and
    STOCK_SHOWN_UP_TO + 1 for any stock above ("in stock", however many)."""
    return min(stock, STOCK_SHOWN_UP_TO + 1)


class Variant(InventoryOwnedFieldsMixin, BilingualNameMixin):
    """A sellable variant (规格) of a product: its own SKU, price and stock."""

    INVENTORY_OWNED = ("stock",)

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="variants"
    )
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    price = models.DecimalField(
        _("price"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    compare_at_price = models.DecimalField(
        _("compare-at price"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("The former or list price shown struck through (划线价); above the price."),
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
            models.CheckConstraint(
                condition=models.Q(compare_at_price__isnull=True)
                | models.Q(compare_at_price__gt=models.F("price")),
                name="variant_compare_at_gt_price",
                violation_error_message=_("The compare-at price must be higher than the price."),
            ),
        ]

    def __str__(self):
        return f"{self.product.name} · {self.name} ({self.sku})"

    def clean(self):
        super().clean()
        if (
            self.compare_at_price is not None
            and self.price is not None
            and self.compare_at_price <= self.price
        ):
            raise ValidationError(
                {"compare_at_price": _("The compare-at price must be higher than the price.")}
            )

    @property
    def has_discount(self) -> bool:
        return self.compare_at_price is not None and self.compare_at_price > self.price

    @property
    def is_purchasable(self) -> bool:
        return self.is_active and self.product.is_active

    @property
    def shown_stock(self) -> int:
        """The stock as cached pages show it (``shown_stock``)."""
        return shown_stock(self.stock)

    @property
    def pick_limit(self) -> int:
        """The most a cached product page lets one pick: the stock where the page says
        how many are left, else PICK_LIMIT (the cart caps a quantity at the real stock)."""
        return self.stock if self.stock <= STOCK_SHOWN_UP_TO else PICK_LIMIT


def product_image_path(instance, filename: str) -> str:
    return f"products/{instance.product_id or 'new'}/{filename}"


class ProductImage(models.Model):
    """A picture of a product (商品图片); the first by position is the cover.

    Saving makes two smaller copies beside the original (``thumbnails``), so
    listing pages never send a camera-sized photo to a phone.
    """

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="images"
    )
    image = models.ImageField(
        _("image"),
        upload_to=product_image_path,
        max_length=255,
        validators=[validate_image_file_extension],
    )
    alt_text = models.CharField(
        _("alt text"), max_length=200, blank=True, help_text=_("What the picture shows.")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("product image")
        verbose_name_plural = _("product images")
        ordering = ["product", "position", "pk"]
        indexes = [models.Index(fields=["product", "position"], name="image_product_position")]

    def __str__(self):
        return self.alt_text or self.image.name

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        make_thumbnails(self.image)

    def file_names(self) -> list[str]:
        """The picture and its thumbnails, as names in its storage."""
        name = self.image.name
        return [name, *(thumbnail_name(name, size) for size in SIZES)] if name else []

    def delete(self, *args, **kwargs):
        """Remove the picture and its thumbnails too, once the deletion has committed."""
        storage, names = self.image.storage, self.file_names()
        result = super().delete(*args, **kwargs)
        transaction.on_commit(lambda: [storage.delete(n) for n in names])
        return result

    def thumbnail_url(self, size: int) -> str:
        return self.image.storage.url(thumbnail_name(self.image.name, size))

    @property
    def small_url(self) -> str:
        return self.thumbnail_url(400)

    @property
    def large_url(self) -> str:
        return self.thumbnail_url(800)


class ProductSpec(BilingualNameMixin):
    """One line of a product's specification table (规格参数): 产地, 酒精度, 净含量."""

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="specs"
    )
    # `name` / `name_en` (from the mixin) are the label; the value is bilingual too.
    value = models.CharField(_("value (Chinese)"), max_length=200)
    value_en = models.CharField(_("value (English)"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("specification")
        verbose_name_plural = _("specifications")
        ordering = ["product", "position", "pk"]

    @property
    def display_value(self) -> str:
        return localized(self.value, self.value_en)


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
