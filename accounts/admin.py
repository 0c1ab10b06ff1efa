from axes.utils import reset as reset_sign_in_failures
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyInline

from . import services
from .forms import StaffAdminLoginForm
from .models import Address, User, WeChatIdentity

# The admin's sign-in asks staff who move money for their authenticator code
# (settings.STAFF_OTP_REQUIRED); templates/admin/login.html shows the field.
admin.site.login_form = StaffAdminLoginForm


class AddressInline(admin.TabularInline):
    """The address book, for staff helping a customer; saved through the services,
    so the user keeps exactly one default."""

    model = Address
    extra = 0
    fields = ("recipient_name", "phone", "province", "city", "district", "detail", "is_default")
    readonly_fields = ("is_default",)


class WeChatIdentityInline(ReadOnlyInline):
    """The WeChat accounts the user signs in with, read-only: binding happens only
    through WeChat itself, and unbinding on the shopper's profile page."""

    model = WeChatIdentity
    fields = ("appid", "openid", "unionid", "nickname", "created_at")
    readonly_fields = fields


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, (_("Contact"), {"fields": ("phone",)}))
    list_display = ("username", "email", "phone", "is_staff", "date_joined")
    search_fields = (
        "username",
        "email",
        "phone",
        "first_name",
        "last_name",
        "wechat_identities__openid",
    )
    inlines = [AddressInline, WeChatIdentityInline]
    actions = ["unlock_sign_in"]

    @admin.action(
        description=_("Unlock sign-in of selected users (forget their failed attempts)"),
        permissions=["change"],
    )
    def unlock_sign_in(self, request, queryset):
        """Lift a django-axes lockout by username. A lockout of an address stays:
        Axes › Access attempts, or ``manage.py axes_reset_ip <ip>``."""
        cleared = sum(
            reset_sign_in_failures(username=username)
            for username in queryset.values_list("username", flat=True)
        )
        self.message_user(
            request,
            ngettext(
                "Sign-in unlocked: %(count)d record of failed attempts removed.",
                "Sign-in unlocked: %(count)d records of failed attempts removed.",
                cleared,
            )
            % {"count": cleared}
            if cleared
            else gettext("The selected users had no failed sign-in attempts."),
        )

    def get_inline_instances(self, request, obj=None):
        # No identity, nothing to show: and an empty read-only formset would still
        # make every save of the user post its management form.
        inlines = super().get_inline_instances(request, obj)
        if obj is None or not obj.wechat_identities.exists():
            inlines = [i for i in inlines if not isinstance(i, WeChatIdentityInline)]
        return inlines

    def save_formset(self, request, form, formset, change):
        if formset.model is not Address:
            return super().save_formset(request, form, formset, change)
        addresses = formset.save(commit=False)
        for address in formset.deleted_objects:
            services.delete_address(address)
        for address in addresses:
            services.save_address(address)
        return None
