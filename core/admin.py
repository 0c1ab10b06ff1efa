from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money records are written by services only; the admin reads them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SingletonAdmin(admin.ModelAdmin):
    """A settings model with one row (``get_solo()``): the list goes straight to it."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        obj = self.model.get_solo()
        opts = self.model._meta
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        )


def run_for_each(modeladmin, request, objects, action, done_message, *, refused, level) -> None:
    """An admin action's loop: ``action(obj)`` on each object; a refusal (an exception of
    the ``refused`` type, whose text is for staff) is told at ``level``, and the count of
    the rest with ``done_message % {"count": n}``."""
    done = 0
    for obj in objects:
        try:
            action(obj)
        except refused as exc:
            modeladmin.message_user(request, str(exc), level)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, done_message % {"count": done}, messages.SUCCESS)
