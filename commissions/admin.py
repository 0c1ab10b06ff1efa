from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import ReadOnlyAdmin, ReadOnlyInline

from . import selectors, services
from .models import Commission, CommissionOverride, CommissionPlan, GradeRate, LedgerEntry


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


class CommissionOverrideInline(FrozenAwareInline):
    model = CommissionOverride
    autocomplete_fields = ("product", "category")


@admin.register(CommissionPlan)
class CommissionPlanAdmin(admin.ModelAdmin):
    """Plan versions: a frozen (once active) version is read-only; change a plan by
    making a new version, editing the draft, previewing it and activating it."""

    list_display = (
        "name",
        "version",
        "is_active",
        "is_frozen",
        "levels",
        "level_1_rate",
        "level_2_rate",
        "level_3_rate",
        "payout_cap",
        "created_at",
    )
    list_filter = ("is_active", "is_frozen")
    readonly_fields = ("is_active", "is_frozen", "version", "previous")
    inlines = [GradeRateInline, CommissionOverrideInline]
    actions = ["make_new_version", "activate"]
    change_form_template = "admin/commissions/commissionplan/change_form.html"

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
    fields = ("created_at", "kind", "pending", "available", "note")
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
    list_display = ("created_at", "distributor", "kind", "pending", "available", "note")
    list_filter = ("kind",)
    search_fields = ("distributor__user__username", "note")
    list_select_related = ("distributor__user",)
