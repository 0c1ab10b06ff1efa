"""Customer service (客服): conversations between a shopper and the shop's staff.

A conversation belongs to one shopper, optionally about one of their orders or
after-sale requests. Its pictures are stored apart from the public media
(``support.storage``) and served only to that shopper and to staff allowed to
read conversations. Counters on the conversation (unread on each side, when the
shopper started waiting) keep the inbox and the polls to one small query each.
"""

import datetime
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.models import SingletonModel

from .storage import private_storage

MAX_BODY = 2000  # characters of one message


class Conversation(models.Model):
    """One thread between a shopper and customer service (会话)."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("conversation", "Open")
        CLOSED = "closed", pgettext_lazy("conversation", "Closed")

    class Topic(models.TextChoices):
        GENERAL = "general", _("General question")
        ORDER = "order", _("About an order")
        AFTER_SALE = "after_sale", _("About an after-sale request")

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="support_conversations",
    )
    topic = models.CharField(_("topic"), max_length=20, choices=Topic.choices)
    order = models.ForeignKey(
        "orders.Order",
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="support_conversations",
    )
    after_sale = models.ForeignKey(
        "orders.AfterSaleRequest",
        verbose_name=_("after-sale request"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="support_conversations",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_conversations",
    )
    created_at = models.DateTimeField(_("started at"), auto_now_add=True)
    last_message_at = models.DateTimeField(_("last message at"), null=True, blank=True)
    # Since when the shopper waits for an answer: their first message after staff
    # last wrote (None: nobody is waiting).
    waiting_since = models.DateTimeField(_("waiting since"), null=True, blank=True)
    first_reply_at = models.DateTimeField(_("first reply at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    customer_unread = models.PositiveIntegerField(_("unread by the customer"), default=0)
    staff_unread = models.PositiveIntegerField(_("unread by staff"), default=0)
    # When the shopper last read replies unread till then (on the page or by its
    # polls): a staff reply they saw there is not also emailed.
    customer_seen_at = models.DateTimeField(_("customer last seen"), null=True, blank=True)
    # The last automatic answer outside opening hours (one per wait).
    auto_replied_at = models.DateTimeField(_("auto-replied at"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(
        _("rating"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    rating_comment = models.CharField(_("rating comment"), max_length=500, blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-last_message_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="conversation_rating_1_to_5",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-last_message_at"], name="conversation_of_customer"),
            models.Index(fields=["status", "waiting_since"], name="conversation_waiting"),
            models.Index(fields=["assignee", "status"], name="conversation_assignee"),
        ]

    def __str__(self):
        return _("Conversation %(id)s") % {"id": self.pk}

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("support:conversation", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Message(models.Model):
    """One message in a conversation: text, pictures, or both."""

    class Sender(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        STAFF = "staff", pgettext_lazy("sender", "Customer service")
        SYSTEM = "system", _("Automatic answer")

    conversation = models.ForeignKey(
        Conversation,
        verbose_name=_("conversation"),
        on_delete=models.CASCADE,
        related_name="messages",
    )
    sender = models.CharField(_("sender"), max_length=10, choices=Sender.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    body = models.TextField(_("text"), max_length=MAX_BODY, blank=True)
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["pk"]
        indexes = [models.Index(fields=["conversation", "id"], name="message_thread")]

    def __str__(self):
        return self.body[:50]


def attachment_path(instance, filename: str) -> str:
    """A random name under the month: the shopper's file name is never used."""
    today = datetime.date.today()
    return f"support/{today:%Y/%m}/{uuid.uuid4().hex}.{instance.extension}"


class Attachment(models.Model):
    """A picture sent in a conversation, stored outside the public media."""

    message = models.ForeignKey(
        Message,
        verbose_name=_("message"),
        on_delete=models.CASCADE,
        related_name="attachments",
    )
    image = models.ImageField(
        _("picture"), upload_to=attachment_path, storage=private_storage, max_length=255
    )
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    size = models.PositiveIntegerField(_("size (bytes)"))
    # The stored format's file extension ("jpg", "png", "webp", "gif").
    extension = models.CharField(max_length=5)

    class Meta:
        verbose_name = _("picture")
        verbose_name_plural = _("pictures")
        ordering = ["pk"]

    def __str__(self):
        return self.image.name


class CannedReply(models.Model):
    """A ready answer staff insert with one click (快捷回复); the merchant edits them."""

    title = models.CharField(_("title"), max_length=60)
    body = models.TextField(_("text"), max_length=MAX_BODY)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ["position", "pk"]

    def __str__(self):
        return self.title


class ServiceSettings(SingletonModel):
    """Opening hours of customer service and the automatic answer outside them."""

    opens_at = models.TimeField(_("opens at"), default=datetime.time(9, 0))
    closes_at = models.TimeField(_("closes at"), default=datetime.time(21, 0))
    # ISO weekdays served, 1 = Monday ... 7 = Sunday.
    open_days = models.CharField(_("days open"), max_length=7, default="1234567")
    away_message = models.TextField(
        _("automatic answer (Chinese)"),
        max_length=MAX_BODY,
        default=(
            "您好，客服的服务时间是每天 9:00–21:00。您的留言我们已收到，上班后会第一时间回复您。"
        ),
    )
    away_message_en = models.TextField(
        _("automatic answer (English)"),
        max_length=MAX_BODY,
        blank=True,
        default=(
            "Hello, customer service is open daily 9:00–21:00. We have your message "
            "and will answer it first thing when we are back."
        ),
    )

    class Meta:
        verbose_name = _("customer service settings")
        verbose_name_plural = _("customer service settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="service_settings_singleton"),
        ]

    def __str__(self):
        return str(self._meta.verbose_name)
