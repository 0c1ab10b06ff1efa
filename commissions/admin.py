from django.contrib import admin

from core.admin import ReadOnlyAdmin, ReadOnlyInline

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
