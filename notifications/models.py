"""Site messages (站内信) and their deliveries by email and SMS.

An event that concerns someone (an order shipped, a commission accrued, a staff
reply) becomes one ``SiteMessage`` in their message centre, once per event
(``event_key`` is unique per recipient), and one ``Delivery`` per further
channel their settings ask for, once per event and channel (unique per message
and channel). ``notifications.services.notify`` writes both in the caller's
transaction; a Celery task sends each delivery after the commit.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Category(models.TextChoices):
    """What a message is about; people choose their channels per category."""

    ORDERS = "orders", _("Orders and after-sale")
    EARNINGS = "earnings", _("Commissions and withdrawals")
    TEAM = "team", _("Distribution and team")
    SERVICE = "service", _("Customer service")


class Kind(models.TextChoices):
    """The events that reach a person."""

    ORDER_PLACED = "order_placed", _("Order placed")
    ORDER_PAID = "order_paid", _("Order paid")
    ORDER_SHIPPED = "order_shipped", _("Order shipped")
    ORDER_DELIVERED = "order_delivered", _("Order delivered")
    REFUND_DECIDED = "refund_decided", _("Refund decided")
    COMMISSION_ACCRUED = "commission_accrued", _("Commission accrued")
    COMMISSION_RELEASED = "commission_released", _("Commission available")
    WITHDRAWAL_PAID = "withdrawal_paid", _("Withdrawal paid")
    WITHDRAWAL_REJECTED = "withdrawal_rejected", _("Withdrawal rejected")
    APPLICATION_DECIDED = "application_decided", _("Distributor application decided")
    GRADE_CHANGED = "grade_changed", _("Grade changed")
    TEAM_MEMBER_JOINED = "team_member_joined", _("New team member")
    STAFF_REPLY = "staff_reply", _("Reply from customer service")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", pgettext_lazy("channel", "SMS")


class NotificationSettings(models.Model):
    """A person's choice of channels per category, and the language they read.

    The message centre always gets the message; email and SMS are chosen here.
    A person without a row has the defaults below.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_settings",
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    email_orders = models.BooleanField(_("orders by email"), default=True)
    sms_orders = models.BooleanField(_("orders by SMS"), default=True)
    email_earnings = models.BooleanField(_("earnings by email"), default=True)
    sms_earnings = models.BooleanField(_("earnings by SMS"), default=True)
    email_team = models.BooleanField(_("team news by email"), default=True)
    sms_team = models.BooleanField(_("team news by SMS"), default=False)
    email_service = models.BooleanField(_("customer service by email"), default=True)
    sms_service = models.BooleanField(_("customer service by SMS"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self):
        return str(self.user)

    def wants(self, channel: str, category: str) -> bool:
        return bool(getattr(self, f"{channel}_{category}"))


class SiteMessage(models.Model):
    """One message in a person's message centre (站内信), written once per event."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=pgettext_lazy("message", "recipient"),
        on_delete=models.CASCADE,
        related_name="site_messages",
    )
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    # What makes the event itself: "order:42:shipped", "commission:7:accrued".
    event_key = models.CharField(_("event"), max_length=120)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    link = models.CharField(_("link"), max_length=300, blank=True)
    # Ids of the objects the event is about ({"order": 42}), for the email.
    data = models.JSONField(_("data"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("site message")
        verbose_name_plural = _("site messages")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "event_key"], name="site_message_once_per_event"
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="site_message_inbox"),
            models.Index(
                fields=["recipient"],
                condition=models.Q(read_at__isnull=True),
                name="site_message_unread",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Delivery(models.Model):
    """Sending one site message by email or SMS: at most once per message and channel.

    The sender claims the row (PENDING -> SENDING) with a conditional update
    before it sends, and marks it SENT after. A claim older than the lease is a
    sender that died mid-send: the next one asks the provider, where it can, whether
    the message went out (by ``idempotency_key``) before it sends again.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        SKIPPED = "skipped", _("Not sent")
        FAILED = "failed", _("Failed")

    message = models.ForeignKey(
        SiteMessage,
        verbose_name=_("message"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    # The email address or phone number, as it was when the event happened.
    address = models.CharField(_("address"), max_length=254)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # The provider's id of what it sent (an SMS BizId), or why nothing was sent.
    provider_ref = models.CharField(_("provider reference"), max_length=100, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["message", "channel"], name="delivery_once_per_channel"
            ),
        ]
        indexes = [
            # The per-number SMS rate limit counts recent sends to one address.
            models.Index(fields=["channel", "address", "sent_at"], name="delivery_rate_limit"),
            models.Index(
                fields=["status", "created_at"],
                condition=models.Q(status__in=["pending", "sending"]),
                name="delivery_unfinished",
            ),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} → {self.address}"

    @property
    def idempotency_key(self) -> str:
        """Names this send at the provider (an SMS OutId, an email Message-ID)."""
        return f"n{self.message_id}-{self.channel}"
