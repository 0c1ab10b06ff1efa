import secrets
import uuid
from decimal import Decimal
from pathlib import PurePath

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from mptt.models import MPTTModel, TreeForeignKey

from core.models import SingletonModel, localized

# No 0/O/1/I/L: invite codes are read aloud and typed from posters.
INVITE_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
INVITE_CODE_LENGTH = 8


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_CODE_ALPHABET) for _ in range(INVITE_CODE_LENGTH))


STARTING_RANK = 0

sales_threshold_kwargs = {
    "max_digits": 14,
    "decimal_places": 2,
    "default": Decimal("0"),
    "validators": [MinValueValidator(Decimal("0"))],
}


class Grade(models.Model):
    """A distributor grade (分销等级), e.g. ordinary, silver, gold; higher rank is better.

    A distributor reaches a grade when they meet all three of its rules; a rule
    of 0 asks for nothing. Sales count goods (subtotal) of orders that were paid
    and not refunded or cancelled, less what partial refunds gave back.
    """

    name = models.CharField(_("name (Chinese)"), max_length=50)
    name_en = models.CharField(_("name (English)"), max_length=50, blank=True)
    rank = models.PositiveSmallIntegerField(
        _("rank"), unique=True, help_text=_("0 is the grade every distributor starts at.")
    )
    min_personal_sales = models.DecimalField(
        _("minimum personal sales"),
        help_text=_("Goods of the orders credited to the distributor; 0 asks for nothing."),
        **sales_threshold_kwargs,
    )
    min_team_sales = models.DecimalField(
        _("minimum team sales"),
        help_text=_(
            "Goods of the orders credited to everyone below the distributor; 0 asks for nothing."
        ),
        **sales_threshold_kwargs,
    )
    min_direct_recruits = models.PositiveIntegerField(
        _("minimum direct recruits"),
        default=0,
        help_text=_("Distributors they recruited themselves; 0 asks for nothing."),
    )
    # Keeping the grade (保级): what a distributor at this grade must do within each
    # evaluation period (EvaluationSettings) to keep it; 0 asks for nothing.
    keep_personal_sales = models.DecimalField(
        _("to keep: personal sales in the period"),
        help_text=_("Goods of their own orders paid in the evaluation period; 0 asks for nothing."),
        **sales_threshold_kwargs,
    )
    keep_team_sales = models.DecimalField(
        _("to keep: team sales in the period"),
        help_text=_(
            "Goods of their team's orders paid in the evaluation period; 0 asks for nothing."
        ),
        **sales_threshold_kwargs,
    )
    keep_direct_recruits = models.PositiveIntegerField(
        _("to keep: new direct recruits in the period"),
        default=0,
        help_text=_("Distributors they recruited in the evaluation period; 0 asks for nothing."),
    )

    class Meta:
        verbose_name = _("grade")
        verbose_name_plural = _("grades")
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_personal_sales__gte=0, min_team_sales__gte=0),
                name="grade_thresholds_gte_0",
            ),
            models.CheckConstraint(
                condition=models.Q(keep_personal_sales__gte=0, keep_team_sales__gte=0),
                name="grade_keep_thresholds_gte_0",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def display_name(self) -> str:
        """The name in the visitor's language (the English one when there is one)."""
        return localized(self.name, self.name_en)

    @property
    def has_keep_conditions(self) -> bool:
        return bool(self.keep_personal_sales or self.keep_team_sales or self.keep_direct_recruits)


def starting_grade_id() -> int | None:
    """The grade a new distributor starts at (rank 0), or None if the merchant has none."""
    return Grade.objects.filter(rank=STARTING_RANK).values_list("pk", flat=True).first()


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
    # A default, not a line in join_network: every way a distributor is made
    # starts them at rank 0.
    grade = models.ForeignKey(
        Grade,
        verbose_name=_("grade"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        default=starting_grade_id,
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
            # New distributors of a day (reports.summaries).
            models.Index(fields=["joined_at"], name="distributor_joined_at"),
        ]

    def __str__(self):
        return f"{self.user.get_username()} ({self.invite_code})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def save(self, *args, **kwargs):
        """Save the distributor's own fields, never its place in the tree.

        Joins and moves go through distributors.network (unplaced insert, then
        placement under the tree lock). A plain save of a stale instance must not
        write old lft/rght/parent values back over a renumbering that happened
        since it was loaded.
        """
        if self._state.adding:
            raise TypeError("create distributors with distributors.network.join_network()")
        if kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in STRUCTURAL_FIELDS
            ]
        elif STRUCTURAL_FIELDS & set(kwargs["update_fields"]):
            raise TypeError("move distributors with distributors.network.move_distributor()")
        # Model.save, not MPTTModel.save: nothing structural can change here.
        models.Model.save(self, *args, **kwargs)

    def get_invite_path(self) -> str:
        return reverse("referral", args=[self.invite_code])


class ChangeRecord(models.Model):
    """Who changed something about a distributor, and when."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the system made the change."),
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-pk"]


class DistributorStatusChange(ChangeRecord):
    """A distributor suspended or reactivated, by whom, when and why."""

    distributor = models.ForeignKey(
        Distributor,
        verbose_name=_("distributor"),
        on_delete=models.PROTECT,
        related_name="status_changes",
    )
    from_status = models.CharField(_("from"), max_length=16, choices=Distributor.Status.choices)
    to_status = models.CharField(_("to"), max_length=16, choices=Distributor.Status.choices)
    reason = models.CharField(_("reason"), max_length=255, blank=True)

    class Meta(ChangeRecord.Meta):
        verbose_name = _("distributor status change")
        verbose_name_plural = _("distributor status changes")

    def __str__(self):
        return f"{self.distributor_id}: {self.from_status} → {self.to_status}"


class GradeChange(ChangeRecord):
    """A distributor's grade moved: from which, to which, why, and the figures it saw."""

    class Reason(models.TextChoices):
        ORDER_COMPLETED = "order_completed", _("An order was completed")
        REVIEW = "review", _("Scheduled review")
        STAFF = "staff", _("Set by staff")
        EVALUATION = "evaluation", _("Periodic evaluation: keeping conditions not met")

    distributor = models.ForeignKey(
        Distributor,
        verbose_name=_("distributor"),
        on_delete=models.PROTECT,
        related_name="grade_changes",
    )
    from_grade = models.ForeignKey(
        Grade,
        verbose_name=_("from"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    to_grade = models.ForeignKey(
        Grade, verbose_name=_("to"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    note = models.CharField(_("note"), max_length=255, blank=True)
    personal_sales = models.DecimalField(
        _("personal sales"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    team_sales = models.DecimalField(
        _("team sales"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    direct_recruits = models.PositiveIntegerField(_("direct recruits"), null=True, blank=True)

    class Meta(ChangeRecord.Meta):
        verbose_name = _("grade change")
        verbose_name_plural = _("grade changes")

    def __str__(self):
        return f"{self.distributor_id}: {self.from_grade_id} → {self.to_grade_id}"


class NetworkSettings(SingletonModel):
    """How the merchant runs the network: one row, edited in the admin (网络设置)."""

    class BindingRule(models.TextChoices):
        FIRST_REFERRER = "first", _("First referrer binds the customer for good")
        LAST_REFERRER = "last", _("The last referrer wins")
        EXPIRING = "expiring", _("A binding lasts N days, then the next referral binds anew")

    auto_approve = models.BooleanField(
        _("approve applications automatically"),
        default=True,
        help_text=_("Off: every application waits for a reviewer in the admin."),
    )
    binding_rule = models.CharField(
        _("customer binding rule"),
        max_length=16,
        choices=BindingRule.choices,
        default=BindingRule.FIRST_REFERRER,
    )
    binding_days = models.PositiveSmallIntegerField(
        _("binding lasts (days)"),
        default=30,
        validators=[MinValueValidator(1)],
        help_text=_("Used by the rule “a binding lasts N days”."),
    )

    class Meta:
        verbose_name = _("network settings")
        verbose_name_plural = _("network settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="network_settings_singleton"),
            models.CheckConstraint(
                condition=models.Q(binding_days__gte=1), name="network_settings_binding_days_gte_1"
            ),
        ]

    def __str__(self):
        return str(_("Network settings"))


class DistributorApplication(models.Model):
    """A shopper's application to become a distributor (分销商申请)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("applicant"),
        on_delete=models.PROTECT,
        related_name="distributor_applications",
    )
    name = models.CharField(_("name"), max_length=50)
    phone = models.CharField(_("mobile phone"), max_length=20)
    reason = models.TextField(_("why you want to join"), max_length=500, blank=True)
    invite_code = models.CharField(_("invite code"), max_length=16, blank=True)
    referrer = models.ForeignKey(
        Distributor,
        verbose_name=_("invited by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("applied"), default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the application was approved automatically."),
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    review_note = models.CharField(_("review note"), max_length=255, blank=True)
    distributor = models.OneToOneField(
        Distributor,
        verbose_name=_("distributor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="application",
    )

    class Meta:
        verbose_name = _("distributor application")
        verbose_name_plural = _("distributor applications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # A double submit, also a concurrent one, cannot make two pending applications.
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(status="pending"),
                name="one_pending_application_per_user",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_status_display()})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING


class CustomerBinding(models.Model):
    """Which distributor a customer is bound to (推广关系), and since when.

    A rebind ends the old row (ended_at) and starts a new one, so the history
    stays. At most one row per customer is open (ended_at empty); an open row
    whose expires_at has passed binds no more.
    """

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="distributor_bindings",
    )
    distributor = models.ForeignKey(
        Distributor,
        verbose_name=_("distributor"),
        on_delete=models.PROTECT,
        related_name="customer_bindings",
    )
    rule = models.CharField(_("rule"), max_length=16, choices=NetworkSettings.BindingRule.choices)
    bound_at = models.DateTimeField(_("bound"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer binding")
        verbose_name_plural = _("customer bindings")
        ordering = ["-bound_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(ended_at__isnull=True),
                name="one_open_binding_per_customer",
            ),
        ]
        indexes = [models.Index(fields=["distributor", "bound_at"])]

    def __str__(self):
        return f"{self.customer_id} → {self.distributor_id}"

    def is_in_force(self, now) -> bool:
        return self.ended_at is None and (self.expires_at is None or self.expires_at > now)


def training_upload_to(instance, filename: str) -> str:
    # An unguessable folder: the file is served through a view that checks the grade.
    return f"training/{uuid.uuid4().hex}/{PurePath(filename).name}"


class TrainingResource(models.Model):
    """A training resource (培训资料) for distributors of at least `min_grade`."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    file = models.FileField(_("file"), upload_to=training_upload_to, blank=True)
    min_grade = models.ForeignKey(
        Grade,
        verbose_name=_("minimum grade"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: every distributor may read it."),
    )
    is_published = models.BooleanField(_("published"), default=False)
    published_at = models.DateTimeField(
        _("publish from"),
        default=timezone.now,
        help_text=_("A published resource shows from this time on."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("training resource")
        verbose_name_plural = _("training resources")
        ordering = ["-published_at", "-pk"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("distributors:training_detail", args=[self.pk])

    @property
    def file_name(self) -> str:
        return PurePath(self.file.name).name if self.file else ""


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


class EvaluationSettings(SingletonModel):
    """How often distributors are evaluated against their grade (考核设置)."""

    class Period(models.TextChoices):
        MONTHLY = "monthly", _("Monthly")
        QUARTERLY = "quarterly", _("Quarterly")

    period = models.CharField(
        _("evaluation period"), max_length=10, choices=Period.choices, default=Period.MONTHLY
    )
    is_enabled = models.BooleanField(
        _("evaluate automatically"),
        default=True,
        help_text=_("On: each period is evaluated on the first day after it ends."),
    )

    class Meta:
        verbose_name = _("evaluation settings")
        verbose_name_plural = _("evaluation settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="evaluation_settings_singleton"),
        ]

    def __str__(self):
        return str(_("Evaluation settings"))


class Evaluation(models.Model):
    """One evaluation (考核) of every distributor over one period."""

    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    created_at = models.DateTimeField(_("evaluated"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the scheduled task ran it."),
    )

    class Meta:
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        ordering = ["-period_start", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["period_start", "period_end"], name="one_evaluation_per_period"
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="evaluation_period_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.period_start} – {self.period_end}"


class EvaluationResult(models.Model):
    """One distributor's figures in an evaluation, against their grade, and what follows."""

    class Outcome(models.TextChoices):
        KEEPS = "keeps", _("Keeps the grade")
        RISES = "rises", _("Rises")
        FALLS_SHORT = "falls_short", _("Falls short")

    class Decision(models.TextChoices):
        NONE = "none", _("Nothing to decide")
        PENDING = "pending", _("Demotion waiting for staff")
        DEMOTED = "demoted", _("Demoted")
        WAIVED = "waived", _("Kept by staff")

    evaluation = models.ForeignKey(
        Evaluation, verbose_name=_("evaluation"), on_delete=models.CASCADE, related_name="results"
    )
    distributor = models.ForeignKey(
        Distributor,
        verbose_name=_("distributor"),
        on_delete=models.PROTECT,
        related_name="evaluation_results",
    )
    grade = models.ForeignKey(
        Grade,
        verbose_name=_("grade"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    personal_sales = models.DecimalField(_("personal sales"), max_digits=14, decimal_places=2)
    team_sales = models.DecimalField(_("team sales"), max_digits=14, decimal_places=2)
    direct_recruits = models.PositiveIntegerField(_("new direct recruits"))
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    # The grade they rise to, or would fall to if staff confirm the demotion.
    proposed_grade = models.ForeignKey(
        Grade,
        verbose_name=_("proposed grade"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decision = models.CharField(
        _("decision"), max_length=10, choices=Decision.choices, default=Decision.NONE
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("evaluation result")
        verbose_name_plural = _("evaluation results")
        ordering = ["evaluation", "outcome", "distributor"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "distributor"], name="one_result_per_evaluation"
            ),
        ]
        indexes = [models.Index(fields=["evaluation", "decision"], name="result_decision")]

    def __str__(self):
        return f"{self.evaluation_id} {self.distributor_id}: {self.outcome}"
