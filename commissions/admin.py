from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import ReadOnlyAdmin, ReadOnlyInline

from . import services
from .models import Commission, CommissionPlan, LedgerEntry


@admin.register(CommissionPlan)
class CommissionPlanAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "is_active",
        "levels",
        "level_1_rate",
        "level_2_rate",
        "level_3_rate",
        "payout_cap",
        "created_at",
    )
    list_filter = ("is_active",)
    readonly_fields = ("is_active",)
    actions = ["activate"]

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
        "note",
    )
    list_filter = ("kind",)
    search_fields = ("distributor__user__username", "note")
    list_select_related = ("distributor__user", "commission__order", "withdrawal")
