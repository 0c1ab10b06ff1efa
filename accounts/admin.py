from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Address, User


class AddressInline(admin.TabularInline):
    """The address book, for staff helping a customer; saved through the services,
    so the user keeps exactly one default."""

    model = Address
    extra = 0
    fields = ("recipient_name", "phone", "province", "city", "district", "detail", "is_default")
    readonly_fields = ("is_default",)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, (_("Contact"), {"fields": ("phone",)}))
    list_display = ("username", "email", "phone", "is_staff", "date_joined")
    search_fields = ("username", "email", "phone", "first_name", "last_name")
    inlines = [AddressInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not Address:
            return super().save_formset(request, form, formset, change)
        addresses = formset.save(commit=False)
        for address in formset.deleted_objects:
            services.delete_address(address)
        for address in addresses:
            services.save_address(address)
        return None
