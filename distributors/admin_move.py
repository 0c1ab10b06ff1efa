"""Moving a distributor in the admin: a form with an autocomplete for the new
recruiter, through the same locked service as everything else."""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import ObjectViewsMixin, object_form_page

from . import network
from .models import Distributor, DistributorMove


class MoveForm(forms.Form):
    new_parent = forms.ModelChoiceField(
        label=gettext_lazy("New recruiter"),
        queryset=Distributor.objects.all(),
        required=False,
        help_text=gettext_lazy("Leave empty to make this distributor the top of a network."),
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=255)

    def __init__(self, *args, admin_site, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["new_parent"]
        field.widget = AutocompleteSelect(DistributorMove._meta.get_field("to_parent"), admin_site)
        field.widget.choices = field.choices


class MoveDistributorMixin(ObjectViewsMixin):
    """Adds /admin/distributors/distributor/<pk>/move/ to the distributor admin."""

    object_views = (("move", "move_view", "move"),)

    def move_view(self, request, pk):
        def move(distributor, data):
            network.move_distributor(
                distributor, data["new_parent"], actor=request.user, reason=data["reason"]
            )
            return _("%(name)s was moved.") % {"name": distributor}

        return object_form_page(
            self,
            request,
            pk,
            form_class=MoveForm,
            apply=move,
            refused=network.DistributorError,
            template="admin/distributors/distributor/move.html",
            title=lambda distributor: _("Move %(name)s") % {"name": distributor},
            queryset=Distributor.objects.select_related("user"),
            form_kwargs=lambda distributor: {"admin_site": self.admin_site},
        )


class DistributorMoveAdmin(admin.ModelAdmin):
    list_display = ("moved_at", "distributor", "from_parent", "to_parent", "actor", "reason")
    list_select_related = ("distributor__user", "from_parent__user", "to_parent__user", "actor")
    search_fields = ("distributor__user__username", "distributor__invite_code")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
