from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


def localized(text: str | None, text_en: str | None) -> str:
    """Text written in Chinese with an optional English version, in the reader's
    language: the English one for an English reader when there is one."""
    if text_en and (get_language() or "").startswith("en"):
        return text_en
    return text or ""


class BilingualNameMixin(models.Model):
    """A name people read, written in Chinese, with an optional English one (catalog
    content, promotions): `display_name` is the one for the reader's language."""

    name = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.name

    @property
    def display_name(self) -> str:
        return localized(self.name, self.name_en)


class SingletonModel(models.Model):
    """A settings model with exactly one row (id 1), edited in the admin.

    Subclasses add a ``CheckConstraint(condition=Q(id=1))`` of their own name;
    ``core.admin.SingletonAdmin`` opens the row straight from the list.
    """

    SINGLETON_PK = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_PK, editable=False)

    class Meta:
        abstract = True

    @classmethod
    def get_solo(cls):
        """The one row, created with the defaults the first time it is asked for."""
        obj, _created = cls.objects.get_or_create(pk=cls.SINGLETON_PK)
        return obj


class OutboxMessage(models.Model):
    """A task to send to the broker, written in the transaction that made the work.

    ``core.outbox.enqueue`` records one row with the business change and sends it
    once that commits; a send that fails (broker down) leaves the row, and the
    beat sweep sends it later. A row is deleted once the broker has accepted it.
    Tasks are idempotent, so a message sent twice (a sweep racing a slow send)
    does no harm.
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    countdown = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")

    def __str__(self):
        return f"{self.task}{tuple(self.args)}"


class Heartbeat(models.Model):
    """When a periodic job last ran: beat sends ``core.tasks.heartbeat`` every minute and
    the worker stamps it here, so /health/ can tell that beat and a worker are alive."""

    name = models.CharField(max_length=50, unique=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self):
        return f"{self.name} @ {self.at:%Y-%m-%d %H:%M:%S}"
