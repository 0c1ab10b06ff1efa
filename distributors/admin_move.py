"""Moving a distributor in the admin: a form with an autocomplete for the new
recruiter, through the same locked service as everything else."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import services
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


class MoveDistributorMixin:
    """Adds /admin/distributors/distributor/<pk>/move/ to the distributor admin."""

    def get_urls(self):
        return [
            path(
                "<int:pk>/move/",
                self.admin_site.admin_view(self.move_view),
                name="distributors_distributor_move",
            ),
            *super().get_urls(),
        ]

    def move_view(self, request, pk):
        if not self.has_change_permission(request):
            raise PermissionDenied
        distributor = get_object_or_404(Distributor.objects.select_related("user"), pk=pk)
        form = MoveForm(request.POST or None, admin_site=self.admin_site)
        if request.method == "POST" and form.is_valid():
            try:
                services.move_distributor(
                    distributor,
                    form.cleaned_data["new_parent"],
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except services.DistributorError as exc:
                form.add_error("new_parent", str(exc))
            else:
                self.message_user(
                    request, _("%(name)s was moved.") % {"name": distributor}, messages.SUCCESS
                )
                return redirect(reverse("admin:distributors_distributor_change", args=[pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": distributor,
            "form": form,
            "media": self.media + form.media,
            "title": _("Move %(name)s") % {"name": distributor},
        }
        return TemplateResponse(request, "admin/distributors/distributor/move.html", context)


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
