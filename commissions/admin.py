import csv

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import (
    NoSaveButtonsMixin,
    ObjectViewsMixin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    SingletonAdmin,
    cny_column,
    csv_download,
    excel_safe,
    object_form_page,
    run_for_each,
)
from core.money import format_percent

from . import selectors, services, withdrawals
from .forms import CommissionPlanForm, GradeRateForm
from .models import (
    Bonus,
    Commission,
    CommissionOverride,
    CommissionPlan,
    GradeRate,
    LedgerEntry,
    PayoutMethod,
    PayoutSettings,
    Withdrawal,
)


class FrozenAwareInline(admin.TabularInline):
    extra = 0

    def has_add_permission(self, request, obj=None):
        return obj is None or not obj.is_frozen

    def has_change_permission(self, request, obj=None):
        return obj is None or not obj.is_frozen

    def has_delete_permission(self, request, obj=None):
        return obj is None or not obj.is_frozen


class GradeRateInline(FrozenAwareInline):
    model = GradeRate
    form = GradeRateForm


class CommissionOverrideInline(FrozenAwareInline):
    model = CommissionOverride
    autocomplete_fields = ("product", "category")


@admin.register(CommissionPlan)
class CommissionPlanAdmin(admin.ModelAdmin):
    """Plan versions: a frozen (once active) version is read-only; change a plan by
    making a new version, editing the draft, previewing it and activating it."""

    form = CommissionPlanForm
    list_display = (
        "name",
        "version",
        "is_active",
        "is_frozen",
        "levels",
        "level_1_percent",
        "level_2_percent",
        "level_3_percent",
        "payout_cap_percent",
        "allows_self_purchase",
        "created_at",
    )
    list_filter = ("is_active", "is_frozen")
    # Rates are typed as percentages (CommissionPlanForm); a frozen version shows
    # them the same way, read-only.
    RATE_FIELDS = {
        "level_1_rate": "level_1_percent",
        "level_2_rate": "level_2_percent",
        "level_3_rate": "level_3_percent",
        "payout_cap": "payout_cap_percent",
        "withdrawal_fee_rate": "withdrawal_fee_percent",
        "payout_methods": "payout_method_names",
    }
    fieldsets = (
        (None, {"fields": (("name", "name_en"), "version", "previous", "is_active", "is_frozen")}),
        (
            gettext_lazy("Levels and rates"),
            {
                "fields": (
                    "levels",
                    ("level_1_rate", "level_2_rate", "level_3_rate"),
                    "payout_cap",
                    "compresses",
                )
            },
        ),
        (
            gettext_lazy("A distributor's own orders"),
            {"fields": ("allows_self_purchase", "self_purchase_rule")},
        ),
        (
            gettext_lazy("Withdrawals"),
            {"fields": ("freeze_days", "min_withdrawal", "withdrawal_fee_rate", "payout_methods")},
        ),
    )
    readonly_fields = ("is_active", "is_frozen", "version", "previous", *RATE_FIELDS.values())
    inlines = [GradeRateInline, CommissionOverrideInline]
    actions = ["make_new_version", "activate"]
    change_form_template = "admin/commissions/commissionplan/change_form.html"

    def get_fieldsets(self, request, obj=None):
        if obj is None or self.has_change_permission(request, obj):
            return self.fieldsets
        shown = self.RATE_FIELDS
        return [
            (title, {**options, "fields": _renamed(options["fields"], shown)})
            for title, options in self.fieldsets
        ]

    @admin.display(description=gettext_lazy("level 1 rate"), ordering="level_1_rate")
    def level_1_percent(self, plan):
        return format_percent(plan.level_1_rate)

    @admin.display(description=gettext_lazy("level 2 rate"), ordering="level_2_rate")
    def level_2_percent(self, plan):
        return format_percent(plan.level_2_rate)

    @admin.display(description=gettext_lazy("level 3 rate"), ordering="level_3_rate")
    def level_3_percent(self, plan):
        return format_percent(plan.level_3_rate) if plan.levels >= 3 else "-"

    @admin.display(description=gettext_lazy("payout cap"), ordering="payout_cap")
    def payout_cap_percent(self, plan):
        return format_percent(plan.payout_cap)

    @admin.display(description=gettext_lazy("withdrawal fee"))
    def withdrawal_fee_percent(self, plan):
        return format_percent(plan.withdrawal_fee_rate)

    @admin.display(description=gettext_lazy("payout methods"))
    def payout_method_names(self, plan):
        return "、".join(str(PayoutMethod(m).label) for m in plan.payout_methods)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_frozen:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and not obj.is_frozen and super().has_delete_permission(request, obj)

    def get_urls(self):
        return [
            path(
                "<int:pk>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="commissions_commissionplan_preview",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        plan = get_object_or_404(CommissionPlan, pk=pk)
        form = PreviewForm(request.GET or None)
        days = form.cleaned_data["days"] if form.is_valid() else PreviewForm.DEFAULT_DAYS
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": plan,
            "form": form,
            "preview": selectors.preview_plan(plan, days=days),
            "active_plan": services.active_plan(),
            "title": _("Preview of %(plan)s") % {"plan": plan},
        }
        return TemplateResponse(request, "admin/commissions/commissionplan/preview.html", context)

    @admin.action(description=gettext_lazy("Make a new draft version of the selected plan"))
    def make_new_version(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one plan."), messages.ERROR)
            return None
        draft = services.new_version(queryset.get())
        self.message_user(
            request,
            _("Draft “%(plan)s” created: edit it, preview it, then activate it.") % {"plan": draft},
        )
        return redirect(reverse("admin:commissions_commissionplan_change", args=[draft.pk]))

    @admin.action(description=gettext_lazy("Make the selected plan the active one"))
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one plan."), messages.ERROR)
            return
        try:
            plan = services.activate_plan(queryset.get())
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, _("“%(plan)s” is now the active plan.") % {"plan": plan})


def _renamed(fields, names: dict) -> tuple:
    """A fieldset's fields (names or tuples of names) with some names replaced."""
    return tuple(
        tuple(names.get(f, f) for f in field)
        if isinstance(field, tuple)
        else names.get(field, field)
        for field in fields
    )


class PreviewForm(forms.Form):
    DEFAULT_DAYS = 30
    days = forms.IntegerField(
        label=gettext_lazy("Orders paid in the last (days)"),
        min_value=1,
        max_value=366,
        initial=DEFAULT_DAYS,
    )


class LedgerEntryInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ("created_at", "kind", "pending", "available", "held", "note")
    readonly_fields = fields


@admin.register(Commission)
class CommissionAdmin(ReadOnlyAdmin):
    list_display = (
        "order",
        "distributor",
        "level",
        "base",
        "rate",
        "amount",
        "status",
        "created_at",
    )
    list_filter = ("status", "level")
    search_fields = ("order__number", "distributor__user__username", "distributor__invite_code")
    list_select_related = ("order", "distributor__user")
    inlines = [LedgerEntryInline]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "distributor",
        "kind",
        "pending",
        "available",
        "held",
        "commission",
        "withdrawal",
        "bonus",
        "note",
    )
    list_filter = ("kind",)
    search_fields = ("distributor__user__username", "note")
    list_select_related = ("distributor__user", "commission__order", "withdrawal", "bonus")


@admin.register(Bonus)
class BonusAdmin(ReadOnlyAdmin):
    """Recruitment rewards (拉新奖励) and contest prizes (竞赛奖金): written by
    commissions.bonuses only (through marketing.rewards and the contests), read here."""

    # Fits 1280 px beside the filters: the new customer (searchable) and the release and
    # reversal times are on the bonus's page.
    list_display = ("id", "distributor_name", "kind", "amount_cny", "status", "order", "earned")
    list_filter = ("kind", "status", "created_at")
    search_fields = (
        "=id",
        "distributor__user__username",
        "distributor__invite_code",
        "customer__username",
        "order__number",
        "note",
    )
    list_select_related = ("distributor__user", "customer", "order")
    date_hierarchy = "created_at"
    amount_cny = cny_column(Bonus, "amount")
    readonly_fields = [*(f.name for f in Bonus._meta.fields), "amount_cny"]
    fields = (
        "distributor",
        "kind",
        "amount_cny",
        "status",
        "customer",
        "order",
        "note",
        "created_at",
        "released_at",
        "reversed_at",
    )
    inlines = [LedgerEntryInline]
    actions = ["export_csv"]

    @admin.display(description=gettext_lazy("distributor"), ordering="distributor__user__username")
    def distributor_name(self, bonus):
        return bonus.distributor.user.get_username()

    @admin.display(description=gettext_lazy("earned"), ordering="created_at")
    def earned(self, bonus):
        return timezone.localtime(bonus.created_at).strftime("%Y-%m-%d %H:%M")

    @admin.action(description=gettext_lazy("Export selected bonuses as CSV"), permissions=["view"])
    def export_csv(self, request, queryset):
        rows = queryset.select_related("distributor__user", "customer", "order").order_by(
            "created_at", "pk"
        )
        response = csv_download("bonuses")
        writer = csv.writer(response)
        writer.writerow(
            [
                _("ID"),
                _("Distributor"),
                _("Kind"),
                _("Amount"),
                _("Status"),
                _("New customer"),
                _("Order number"),
                _("Note"),
                _("Earned at"),
                _("Released at"),
                _("Reversed at"),
            ]
        )

        def when(moment):
            return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""

        for bonus in rows:
            writer.writerow(
                [
                    bonus.pk,
                    excel_safe(bonus.distributor),
                    bonus.get_kind_display(),
                    bonus.amount,
                    bonus.get_status_display(),
                    excel_safe(bonus.customer.get_username() if bonus.customer else ""),
                    bonus.order.number if bonus.order else "",
                    excel_safe(bonus.note),
                    when(bonus.created_at),
                    when(bonus.released_at),
                    when(bonus.reversed_at),
                ]
            )
        return response


class PayoutReferencesForm(forms.Form):
    """One payout reference per withdrawal to be marked paid.

    `rows` pairs each withdrawal with its field (the review page lists them).
    The list's "approve" action and one withdrawal's approve page both use it.
    """

    action = "approve"

    def __init__(self, *args, withdrawals, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = []
        for withdrawal in withdrawals:
            name = f"reference_{withdrawal.pk}"
            label = _("Payout reference of #%(number)s") % {"number": withdrawal.pk}
            self.fields[name] = forms.CharField(
                label=label,
                max_length=Withdrawal._meta.get_field("payout_reference").max_length,
                widget=forms.TextInput(attrs={"aria-label": label}),
            )
            self.rows.append((withdrawal, self[name]))

    @staticmethod
    def review(withdrawal, data, *, reviewer) -> None:
        """Mark `withdrawal` paid by hand, with the reference typed for it in `data`."""
        withdrawals.approve_withdrawal(
            withdrawal, reviewer=reviewer, payout_reference=data[f"reference_{withdrawal.pk}"]
        )


class RejectForm(forms.Form):
    """One reason for all the withdrawals rejected together (the list's "reject"
    action, or one withdrawal's reject page)."""

    action = "reject"
    reason = forms.CharField(
        label=gettext_lazy("Reason (the distributor sees it)"),
        max_length=Withdrawal._meta.get_field("reject_reason").max_length,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )

    def __init__(self, *args, withdrawals, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = [(withdrawal, None) for withdrawal in withdrawals]

    @staticmethod
    def review(withdrawal, data, *, reviewer) -> None:
        """Reject `withdrawal` with the reason in `data`; its hold returns to available."""
        withdrawals.reject_withdrawal(withdrawal, reviewer=reviewer, reason=data["reason"])


@admin.register(Withdrawal)
class WithdrawalAdmin(NoSaveButtonsMixin, ObjectViewsMixin, admin.ModelAdmin):
    """Withdrawals are changed only by the services: through the list's actions, or
    the approve and reject pages of one withdrawal (the same forms and services)."""

    # Fits 1280 px beside the filters: fee and review time are on the withdrawal's page.
    list_display = (
        "id",
        "distributor",
        "amount_cny",
        "net_amount_cny",
        "method",
        "account",
        "status",
        "created_at",
        "reviewer",
    )
    list_filter = ("status", "method", "created_at", "reviewed_at")
    search_fields = (
        "=id",
        "distributor__user__username",
        "distributor__invite_code",
        "account_name",
        "account_number",
        "payout_reference",
    )
    list_select_related = ("distributor__user", "reviewer")
    date_hierarchy = "created_at"
    amount_cny = cny_column(Withdrawal, "amount")
    fee_cny = cny_column(Withdrawal, "fee")
    net_amount_cny = cny_column(Withdrawal, "net_amount")
    # The request token (a double-submit guard) is no business of staff.
    fieldsets = (
        (None, {"fields": ("distributor", "status", "created_at")}),
        (
            gettext_lazy("Amounts"),
            {"fields": ("amount_cny", "fee_cny", "net_amount_cny")},
        ),
        (
            gettext_lazy("Pay to"),
            {"fields": ("method", "account_name", "account_number")},
        ),
        (
            gettext_lazy("Review"),
            {"fields": ("reviewer", "reviewed_at", "payout_reference", "reject_reason")},
        ),
    )
    readonly_fields = [
        *(f.name for f in Withdrawal._meta.fields),
        "amount_cny",
        "fee_cny",
        "net_amount_cny",
    ]
    inlines = [LedgerEntryInline]
    actions = ["pay_automatically", "approve", "reject", "export_csv"]
    change_form_template = "admin/commissions/withdrawal/change_form.html"
    object_views = (
        ("approve", "approve_view", "approve"),
        ("reject", "reject_view", "reject"),
    )

    @admin.display(description=gettext_lazy("account"), ordering="account_name")
    def account(self, withdrawal):
        return f"{withdrawal.account_name} {withdrawal.account_number}"

    def has_pay_permission(self, request, obj=None):
        """Approving a payout moves money: it needs its own permission, not just "change"."""
        return request.user.has_perm("commissions.pay_withdrawal")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def approve_view(self, request, pk):
        """Mark one withdrawal paid by hand, from its own page (as the approve action)."""
        return self._review_one(
            request,
            pk,
            PayoutReferencesForm,
            title=_("Mark withdrawal paid"),
            done_message=_("Withdrawal #%(number)s marked paid."),
            permission="pay",
        )

    def reject_view(self, request, pk):
        """Reject one withdrawal from its own page (as the reject action)."""
        return self._review_one(
            request,
            pk,
            RejectForm,
            title=_("Reject withdrawal"),
            done_message=_("Withdrawal #%(number)s rejected; the amount is available again."),
            permission="change",
        )

    def _review_one(self, request, pk, form_class, *, title, done_message, permission):
        def apply(withdrawal, data):
            form_class.review(withdrawal, data, reviewer=request.user)
            return done_message % {"number": withdrawal.pk}

        return object_form_page(
            self,
            request,
            pk,
            form_class=form_class,
            apply=apply,
            refused=withdrawals.WithdrawalError,
            template="admin/commissions/withdrawal/review.html",
            title=lambda withdrawal: f"{title} #{withdrawal.pk}",
            permission=permission,
            queryset=Withdrawal.objects.select_related("distributor__user"),
            form_kwargs=lambda withdrawal: {"withdrawals": [withdrawal]},
            extra_context=lambda withdrawal: {"action": form_class.action},
        )

    def _open_ones(self, request, queryset) -> list[Withdrawal]:
        open_ones = list(
            queryset.filter(status=Withdrawal.Status.REQUESTED)
            .select_related("distributor__user")
            .order_by("pk")
        )
        skipped = queryset.count() - len(open_ones)
        if skipped:
            self.message_user(
                request,
                _("%(count)d selected withdrawal(s) were reviewed before; left as they are.")
                % {"count": skipped},
                messages.WARNING,
            )
        return open_ones

    def _review(self, request, queryset, form_class, *, title, done_message):
        """Ask for `form_class` on an intermediate page, then its `review` on each.

        The page posts the same action and selection back with `confirm`; a
        withdrawal reviewed meanwhile is refused by the service, and said so.
        """
        open_ones = self._open_ones(request, queryset)
        if not open_ones:
            return None
        data = request.POST if "confirm" in request.POST else None
        form = form_class(data, withdrawals=open_ones)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": title,
                "action": form_class.action,
                "form": form,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/commissions/withdrawal/review.html", context)
        self._run_each(
            request,
            open_ones,
            lambda w: form_class.review(w, form.cleaned_data, reviewer=request.user),
            done_message,
        )
        return None

    def _run_each(self, request, open_ones, review, done_message) -> None:
        """`review(withdrawal)` each one; a refusal is said, and the count of the rest."""
        run_for_each(
            self,
            request,
            open_ones,
            review,
            done_message,
            refused=withdrawals.WithdrawalError,
            level=messages.ERROR,
        )

    @admin.action(
        description=gettext_lazy("Pay selected withdrawals through the gateway (automatic)"),
        permissions=["pay"],
    )
    def pay_automatically(self, request, queryset):
        """Claim each for PAYING; the transfers run on the worker (see commissions.withdrawals)."""
        self._run_each(
            request,
            self._open_ones(request, queryset),
            lambda withdrawal: withdrawals.start_payout(withdrawal, reviewer=request.user),
            _(
                "%(count)d withdrawal(s) approved; the money is being sent and the "
                "status follows the gateway's answer."
            ),
        )

    @admin.action(
        description=gettext_lazy("Approve selected withdrawals (paid by hand, mark paid)"),
        permissions=["pay"],
    )
    def approve(self, request, queryset):
        return self._review(
            request,
            queryset,
            PayoutReferencesForm,
            title=_("Mark withdrawals paid"),
            done_message=_("%(count)d withdrawal(s) marked paid."),
        )

    @admin.action(description=gettext_lazy("Reject selected withdrawals"), permissions=["change"])
    def reject(self, request, queryset):
        return self._review(
            request,
            queryset,
            RejectForm,
            title=_("Reject withdrawals"),
            done_message=_("%(count)d withdrawal(s) rejected; the amounts are available again."),
        )

    @admin.action(
        description=gettext_lazy("Export selected paid withdrawals as CSV"), permissions=["view"]
    )
    def export_csv(self, request, queryset):
        paid = (
            queryset.filter(status=Withdrawal.Status.PAID)
            .select_related("distributor__user", "reviewer")
            .order_by("reviewed_at", "pk")
        )
        if not paid.exists():
            self.message_user(
                request, _("None of the selected withdrawals is paid."), messages.WARNING
            )
            return None
        response = csv_download("withdrawals-paid")
        writer = csv.writer(response)
        writer.writerow(
            [
                _("ID"),
                _("Distributor"),
                _("Payout method"),
                _("Account name"),
                _("Account number"),
                _("Amount"),
                _("Fee"),
                _("Net amount"),
                _("Payout reference"),
                _("Paid at"),
                _("Reviewed by"),
            ]
        )
        for w in paid:
            writer.writerow(
                [
                    w.pk,
                    excel_safe(w.distributor),
                    w.get_method_display(),
                    excel_safe(w.account_name),
                    excel_safe(w.account_number),
                    w.amount,
                    w.fee,
                    w.net_amount,
                    excel_safe(w.payout_reference),
                    timezone.localtime(w.reviewed_at).strftime("%Y-%m-%d %H:%M:%S"),
                    excel_safe(w.reviewer.get_username()),
                ]
            )
        return response


@admin.register(PayoutSettings)
class PayoutSettingsAdmin(SingletonAdmin):
    fields = ("alipay_automatic", "wechat_automatic")
