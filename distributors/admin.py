from django.contrib import admin, messages
from django.utils.translation import gettext_lazy, ngettext_lazy
from mptt.admin import MPTTModelAdmin

from core.admin import ReadOnlyAdmin, ReadOnlyInline, SingletonAdmin, run_for_each

from . import applications, grades, network
from .admin_evaluation import (
    EvaluationAdmin,
    EvaluationResultAdmin,
    EvaluationSettingsAdmin,
    keep_conditions,
)
from .admin_move import DistributorMoveAdmin, MoveDistributorMixin
from .models import (
    CustomerBinding,
    Distributor,
    DistributorApplication,
    DistributorMove,
    DistributorStatusChange,
    Evaluation,
    EvaluationResult,
    EvaluationSettings,
    Grade,
    GradeChange,
    NetworkSettings,
    TrainingResource,
)


def _run_for_each(modeladmin, request, queryset, service, done_message) -> None:
    """Call `service(obj, user)` on each selected object, oldest first (core.admin.run_for_each).

    `done_message` is an ngettext_lazy(..., "count") message.
    """
    run_for_each(
        modeladmin,
        request,
        queryset.order_by("pk"),
        lambda obj: service(obj, request.user),
        done_message,
        refused=network.DistributorError,
        level=messages.WARNING,
    )


class StatusChangeInline(ReadOnlyInline):
    model = DistributorStatusChange
    fk_name = "distributor"
    fields = ("created_at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields


class GradeChangeInline(ReadOnlyInline):
    model = GradeChange
    fk_name = "distributor"
    fields = ("created_at", "from_grade", "to_grade", "reason", "note", "actor")
    readonly_fields = fields


@admin.register(Distributor)
class DistributorAdmin(MoveDistributorMixin, MPTTModelAdmin):
    """The network as an indented tree (no drag and drop: it does not scale).

    Only the grade is edited here, through grades.set_grade (recorded as a
    GradeChange); status changes go through the actions, and the parent
    through the locked tree services.
    """

    list_display = ("user", "invite_code", "status", "grade", "parent", "joined_at")
    list_filter = ("status", "grade")
    search_fields = ("user__username", "user__phone", "application__phone", "invite_code")
    list_select_related = ("user", "parent__user", "grade")
    fields = ("user", "parent", "invite_code", "status", "grade", "joined_at")
    readonly_fields = ("user", "parent", "invite_code", "status", "joined_at")
    autocomplete_fields = ("grade",)
    inlines = [StatusChangeInline, GradeChangeInline]
    actions = ["suspend", "reactivate"]
    mptt_level_indent = 20

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.base_fields["grade"].required = True  # a grade can be changed, not removed
        return form

    def save_model(self, request, obj, form, change):
        # Through the service, so the change is recorded with the staff member
        # (status moves only by the actions, the parent only by tree services).
        if "grade" in form.changed_data:
            grades.set_grade(obj, form.cleaned_data["grade"], actor=request.user)

    @admin.action(description=gettext_lazy("Suspend the selected distributors"))
    def suspend(self, request, queryset):
        _run_for_each(
            self,
            request,
            queryset,
            lambda obj, user: network.suspend_distributor(obj, actor=user),
            ngettext_lazy(
                "%(count)d distributor suspended.", "%(count)d distributors suspended.", "count"
            ),
        )

    @admin.action(description=gettext_lazy("Reactivate the selected distributors"))
    def reactivate(self, request, queryset):
        _run_for_each(
            self,
            request,
            queryset,
            lambda obj, user: network.reactivate_distributor(obj, actor=user),
            ngettext_lazy(
                "%(count)d distributor reactivated.", "%(count)d distributors reactivated.", "count"
            ),
        )


@admin.register(DistributorApplication)
class DistributorApplicationAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "user",
        "phone",
        "referrer",
        "status",
        "created_at",
        "reviewed_by",
        "reviewed_at",
    )
    list_filter = ("status",)
    search_fields = ("name", "phone", "user__username", "invite_code")
    list_select_related = ("user", "referrer__user", "reviewed_by")
    readonly_fields = (
        "user",
        "name",
        "phone",
        "reason",
        "invite_code",
        "referrer",
        "status",
        "created_at",
        "reviewed_by",
        "reviewed_at",
        "distributor",
    )
    fields = (*readonly_fields, "review_note")
    actions = ["approve", "reject"]

    def save_model(self, request, obj, form, change):
        # Only the note: a whole-row save could put back a status a concurrent
        # review just changed.
        obj.save(update_fields=["review_note"])

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=gettext_lazy("Approve the selected applications"))
    def approve(self, request, queryset):
        _run_for_each(
            self,
            request,
            queryset,
            lambda obj, user: applications.approve_application(
                obj, reviewer=user, note=obj.review_note
            ),
            ngettext_lazy(
                "%(count)d application approved.", "%(count)d applications approved.", "count"
            ),
        )

    @admin.action(description=gettext_lazy("Reject the selected applications"))
    def reject(self, request, queryset):
        _run_for_each(
            self,
            request,
            queryset,
            lambda obj, user: applications.reject_application(
                obj, reviewer=user, note=obj.review_note
            ),
            ngettext_lazy(
                "%(count)d application rejected.", "%(count)d applications rejected.", "count"
            ),
        )


@admin.register(NetworkSettings)
class NetworkSettingsAdmin(SingletonAdmin):
    fields = ("auto_approve", "binding_rule", "binding_days")


@admin.register(Grade)
class GradeAdmin(admin.ModelAdmin):
    list_display = (
        "rank",
        "name",
        "name_en",
        "min_personal_sales",
        "min_team_sales",
        "min_direct_recruits",
        "keep_conditions",
    )
    list_display_links = ("rank", "name")
    search_fields = ("name", "name_en")
    fieldsets = (
        (None, {"fields": ("rank", "name", "name_en")}),
        (
            gettext_lazy("Conditions to rise"),
            {
                "fields": ("min_personal_sales", "min_team_sales", "min_direct_recruits"),
                "description": gettext_lazy(
                    "Lifetime figures: a distributor rises to this grade once they meet all three."
                ),
            },
        ),
        (
            gettext_lazy("Conditions to keep"),
            {
                "fields": ("keep_personal_sales", "keep_team_sales", "keep_direct_recruits"),
                "description": gettext_lazy(
                    "Figures within each evaluation period (see the evaluation settings): a "
                    "distributor who misses one is proposed for demotion, which staff confirm "
                    "or waive. The starting grade (rank 0) is never evaluated."
                ),
            },
        ),
    )

    @admin.display(description=gettext_lazy("to keep the grade"))
    def keep_conditions(self, grade):
        return keep_conditions(grade)


@admin.register(TrainingResource)
class TrainingResourceAdmin(admin.ModelAdmin):
    list_display = ("title", "min_grade", "is_published", "published_at")
    list_filter = ("is_published", "min_grade")
    search_fields = ("title", "body")
    list_select_related = ("min_grade",)
    autocomplete_fields = ("min_grade",)
    fields = ("title", "body", "file", "min_grade", "is_published", "published_at")


@admin.register(GradeChange)
class GradeChangeAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "distributor", "from_grade", "to_grade", "reason", "actor")
    list_filter = ("reason", "to_grade")
    search_fields = ("distributor__user__username", "distributor__invite_code")
    list_select_related = ("distributor__user", "from_grade", "to_grade", "actor")


@admin.register(DistributorStatusChange)
class DistributorStatusChangeAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "distributor", "from_status", "to_status", "actor", "reason")
    list_filter = ("to_status",)
    search_fields = ("distributor__user__username", "distributor__invite_code")
    list_select_related = ("distributor__user", "actor")


@admin.register(CustomerBinding)
class CustomerBindingAdmin(ReadOnlyAdmin):
    list_display = ("customer", "distributor", "rule", "bound_at", "expires_at", "ended_at")
    list_filter = ("rule",)
    search_fields = (
        "customer__username",
        "distributor__user__username",
        "distributor__invite_code",
    )
    list_select_related = ("customer", "distributor__user")


admin.site.register(DistributorMove, DistributorMoveAdmin)
admin.site.register(Evaluation, EvaluationAdmin)
admin.site.register(EvaluationResult, EvaluationResultAdmin)
admin.site.register(EvaluationSettings, EvaluationSettingsAdmin)
