from django.contrib import admin
from mptt.admin import MPTTModelAdmin

from .admin_move import DistributorMoveAdmin, MoveDistributorMixin
from .models import Distributor, DistributorMove


@admin.register(Distributor)
class DistributorAdmin(MoveDistributorMixin, MPTTModelAdmin):
    """The network as an indented tree (no drag and drop: it does not scale)."""

    list_display = ("user", "invite_code", "status", "parent", "joined_at")
    list_filter = ("status",)
    search_fields = ("user__username", "user__phone", "invite_code")
    list_select_related = ("user", "parent__user")
    raw_id_fields = ("user", "parent")
    readonly_fields = ("invite_code", "joined_at")
    mptt_level_indent = 20

    def get_readonly_fields(self, request, obj=None):
        # Structural changes (parent) go through the locked services, not a form.
        if obj is not None:
            return (*self.readonly_fields, "user", "parent")
        return self.readonly_fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.register(DistributorMove, DistributorMoveAdmin)
