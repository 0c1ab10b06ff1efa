import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey

# No 0/O/1/I/L: invite codes are read aloud and typed from posters.
INVITE_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
INVITE_CODE_LENGTH = 8


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_CODE_ALPHABET) for _ in range(INVITE_CODE_LENGTH))


class Grade(models.Model):
    """A distributor grade (分销等级), e.g. ordinary, silver, gold; higher rank is better."""

    name = models.CharField(_("name (Chinese)"), max_length=50)
    name_en = models.CharField(_("name (English)"), max_length=50, blank=True)
    rank = models.PositiveSmallIntegerField(
        _("rank"), unique=True, help_text=_("0 is the grade every distributor starts at.")
    )

    class Meta:
        verbose_name = _("grade")
        verbose_name_plural = _("grades")
        ordering = ["rank"]

    def __str__(self):
        return self.name


STRUCTURAL_FIELDS = frozenset({"parent", "lft", "rght", "tree_id", "level"})


class Distributor(MPTTModel):
    """A distributor (分销商): one per user; the parent is who recruited them."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="distributor",
    )
    parent = TreeForeignKey(
        "self",
        verbose_name=_("recruited by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recruits",
    )
    invite_code = models.CharField(
        _("invite code"), max_length=16, unique=True, default=new_invite_code, editable=False
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    grade = models.ForeignKey(
        Grade,
        verbose_name=_("grade"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="distributors",
    )
    joined_at = models.DateTimeField(_("joined"), auto_now_add=True)

    class MPTTMeta:
        parent_attr = "parent"

    class Meta:
        verbose_name = _("distributor")
        verbose_name_plural = _("distributors")
        indexes = [
            models.Index(fields=["tree_id", "lft"], name="distributor_tree_lft"),
            models.Index(
                fields=["tree_id"], condition=models.Q(lft=0), name="distributor_unplaced"
            ),
        ]

    def __str__(self):
        return f"{self.user.get_username()} ({self.invite_code})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def save(self, *args, **kwargs):
        """Save the distributor's own fields, never its place in the tree.

        Joins and moves go through distributors.services (unplaced insert, then
        placement under the tree lock). A plain save of a stale instance must not
        write old lft/rght/parent values back over a renumbering that happened
        since it was loaded.
        """
        if self._state.adding:
            raise TypeError("create distributors with distributors.services.join_network()")
        if kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in STRUCTURAL_FIELDS
            ]
        elif STRUCTURAL_FIELDS & set(kwargs["update_fields"]):
            raise TypeError("move distributors with distributors.services.move_distributor()")
        # Model.save, not MPTTModel.save: nothing structural can change here.
        models.Model.save(self, *args, **kwargs)

    def get_invite_path(self) -> str:
        return reverse("referral", args=[self.invite_code])


class DistributorMove(models.Model):
    """A move of a distributor (and their team) under another recruiter, as recorded."""

    distributor = models.ForeignKey(
        Distributor, verbose_name=_("distributor"), on_delete=models.PROTECT, related_name="moves"
    )
    from_parent = models.ForeignKey(
        Distributor,
        verbose_name=_("from"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    to_parent = models.ForeignKey(
        Distributor, verbose_name=_("to"), on_delete=models.PROTECT, null=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    moved_at = models.DateTimeField(_("moved"), auto_now_add=True)

    class Meta:
        verbose_name = _("distributor move")
        verbose_name_plural = _("distributor moves")
        ordering = ["-moved_at", "-pk"]

    def __str__(self):
        return f"{self.distributor_id}: {self.from_parent_id} → {self.to_parent_id}"
