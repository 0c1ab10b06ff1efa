"""The customer list (客户): its filters and actions, and each customer's page
(figures, orders, binding, coupons, refunds, tags and staff notes)."""

import csv

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import DecimalField, ExpressionWrapper, F
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import ObjectViewsMixin, csv_download
from core.money import format_cny

from .. import segments, selectors, services
from ..forms import CustomerTagsForm, NoteForm, TagChoiceForm
from ..models import CustomerProfile, SavedSegment, Segment
from .common import CSS, export_lines, tag_chips


def segment_badge(segment: str):
    """A segment as a coloured badge (crm.css gives each its colour)."""
    return format_html(
        '<span class="segment-badge segment-{}">{}</span>', segment, Segment(segment).label
    )


def local_time(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


class SavedSegmentFilter(admin.SimpleListFilter):
    """The customers of one saved segment, as its conditions read now."""

    title = gettext_lazy("saved segment")
    parameter_name = "saved_segment"

    def lookups(self, request, model_admin):
        return [(saved.pk, saved.name) for saved in SavedSegment.objects.order_by("name")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            saved = SavedSegment.objects.prefetch_related("tags").get(pk=int(self.value()))
        except (SavedSegment.DoesNotExist, ValueError):
            return queryset.none()
        return queryset.filter(user__in=selectors.matching_customers(saved).values("pk"))


@admin.register(CustomerProfile)
class CustomerProfileAdmin(ObjectViewsMixin, admin.ModelAdmin):
    """The customer list (客户) and each customer's page."""

    list_display = (
        "customer",
        "phone",
        "segment_shown",
        "orders",
        "total_spent_cny",
        "last_order",
        "tags_shown",
    )
    list_display_links = ("customer",)
    list_filter = (
        "segment",
        "tags",
        ("last_order_at", admin.DateFieldListFilter),
        SavedSegmentFilter,
    )
    search_fields = (
        "user__username",
        "user__phone",
        "user__email",
        "user__first_name",
        "user__last_name",
    )
    list_select_related = ("user",)
    list_per_page = 50
    actions = ["add_tag", "remove_tag", "export_csv"]
    change_form_template = "admin/crm/customerprofile/change_form.html"
    object_views = (
        ("tags", "tags_view", "tags"),
        ("note", "note_view", "note"),
        ("refresh", "refresh_view", "refresh"),
    )

    class Media:
        css = CSS

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        spent = ExpressionWrapper(
            F("total_paid") - F("total_refunded"),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        )
        return super().get_queryset(request).annotate(spent=spent).prefetch_related("tags")

    @admin.display(description=gettext_lazy("customer"), ordering="user__username")
    def customer(self, profile):
        name = profile.user.get_full_name()
        username = profile.user.get_username()
        if name:
            return format_html('{} <span class="quiet">{}</span>', username, name)
        return username

    @admin.display(description=gettext_lazy("mobile phone"), ordering="user__phone")
    def phone(self, profile):
        return profile.user.phone or "-"

    @admin.display(description=gettext_lazy("segment"), ordering="segment")
    def segment_shown(self, profile):
        return segment_badge(profile.segment)

    @admin.display(description=gettext_lazy("spent"), ordering="spent")
    def total_spent_cny(self, profile):
        return format_html('<span class="money">{}</span>', format_cny(profile.total_spent))

    @admin.display(description=gettext_lazy("orders"), ordering="orders_count")
    def orders(self, profile):
        return profile.orders_count

    @admin.display(description=gettext_lazy("last order"), ordering="last_order_at")
    def last_order(self, profile):
        """The day (the time shows on hovering): the list fits 1280 px beside the filters."""
        if profile.last_order_at is None:
            return "-"
        return format_html(
            '<span title="{}">{}</span>',
            local_time(profile.last_order_at),
            timezone.localtime(profile.last_order_at).strftime("%Y-%m-%d"),
        )

    @admin.display(description=gettext_lazy("tags"))
    def tags_shown(self, profile):
        return tag_chips(profile.tags.all())

    # --- actions on the list ---------------------------------------------------

    def _tag_action(self, request, queryset, *, apply, title, done):
        """Ask which tag on an intermediate page, then `apply(profiles, tag)`; the page
        posts the same action and selection back with `apply`."""
        form = TagChoiceForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            tag = form.cleaned_data["tag"]
            count = apply(queryset, tag)
            self.message_user(
                request, done % {"count": count, "tag": tag.display_name}, messages.SUCCESS
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "form": form,
            "action": request.POST.get("action"),
            "select_across": request.POST.get("select_across", "0"),
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "count": queryset.count(),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "media": self.media,
        }
        return TemplateResponse(request, "admin/crm/customerprofile/tag_action.html", context)

    @admin.action(
        description=gettext_lazy("Add a tag to selected customers"), permissions=["change"]
    )
    def add_tag(self, request, queryset):
        return self._tag_action(
            request,
            queryset,
            apply=services.add_tag,
            title=_("Add a tag"),
            done=_("Tag “%(tag)s” added to %(count)d customer(s)."),
        )

    @admin.action(
        description=gettext_lazy("Remove a tag from selected customers"), permissions=["change"]
    )
    def remove_tag(self, request, queryset):
        return self._tag_action(
            request,
            queryset,
            apply=services.remove_tag,
            title=_("Remove a tag"),
            done=_("Tag “%(tag)s” removed from %(count)d customer(s)."),
        )

    @admin.action(
        description=gettext_lazy("Export selected customers as CSV"), permissions=["view"]
    )
    def export_csv(self, request, queryset):
        response = csv_download("customers")
        csv.writer(response).writerows(export_lines(queryset))
        return response

    # --- the customer's page ---------------------------------------------------

    def profile_or_refresh(self, object_id) -> CustomerProfile:
        """The customer's profile; one not made yet (a customer who signed up after
        the last refresh) is refreshed now. 404 for no such user."""
        try:
            pk = int(unquote(str(object_id)))
        except (TypeError, ValueError):
            raise Http404 from None
        profile = selectors.profile_with_tags(pk)
        if profile is None:
            segments.refresh_profiles(user_ids=[pk])
            profile = selectors.profile_with_tags(pk)
        if profile is None:
            raise Http404
        return profile

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self.customer_page(request, object_id)

    def customer_page(self, request, object_id, *, tag_form=None, note_form=None):
        """The customer's record in cards: figures, orders, binding, coupons,
        refunds, tags and staff notes, each a fixed number of queries."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        profile = self.profile_or_refresh(object_id)
        overview = selectors.customer_overview(profile.user, profile=profile)
        can_tag = self.has_change_permission(request, profile)
        can_note = request.user.has_perm("crm.add_customernote")
        if can_tag and tag_form is None:
            tag_form = CustomerTagsForm(initial={"tags": overview.tags})
        if can_note and note_form is None:
            note_form = NoteForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": profile,
            "title": _("Customer %(name)s") % {"name": profile.user.get_username()},
            "subtitle": None,
            "overview": overview,
            "name": profile.user.get_full_name(),
            "segment": segment_badge(profile.segment),
            "can_change": can_tag,
            "tag_form": tag_form if can_tag else None,
            "note_form": note_form if can_note else None,
            "can_view_orders": request.user.has_perm("orders.view_order"),
            "can_view_after_sales": request.user.has_perm("orders.view_aftersalerequest"),
            "can_view_distributors": request.user.has_perm("distributors.view_distributor"),
            "media": self.media,
            "has_view_permission": True,
        }
        return TemplateResponse(request, self.change_form_template, context)

    def _back_to(self, profile):
        return HttpResponseRedirect(reverse("admin:crm_customerprofile_change", args=[profile.pk]))

    def tags_view(self, request, pk):
        """Set the customer's tags (POST); a GET goes back to the page."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        profile = self.profile_or_refresh(pk)
        if request.method != "POST":
            return self._back_to(profile)
        form = CustomerTagsForm(request.POST)
        if not form.is_valid():
            return self.customer_page(request, pk, tag_form=form)
        services.set_tags(profile, form.cleaned_data["tags"])
        self.message_user(request, _("Tags saved."), messages.SUCCESS)
        return self._back_to(profile)

    def note_view(self, request, pk):
        """Add a staff note (POST), signed by the staff member."""
        if not (
            self.has_view_or_change_permission(request)
            and request.user.has_perm("crm.add_customernote")
        ):
            raise PermissionDenied
        profile = self.profile_or_refresh(pk)
        if request.method != "POST":
            return self._back_to(profile)
        form = NoteForm(request.POST)
        if form.is_valid():
            try:
                services.add_note(profile.user, form.cleaned_data["body"], author=request.user)
            except services.NoteError as exc:
                exc.add_to(form)
            else:
                self.message_user(request, _("Note added."), messages.SUCCESS)
                return self._back_to(profile)
        return self.customer_page(request, pk, note_form=form)

    def refresh_view(self, request, pk):
        """Recompute this customer's figures and segment now (POST)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        profile = self.profile_or_refresh(pk)
        if request.method == "POST":
            segments.refresh_profiles(user_ids=[profile.pk])
            self.message_user(request, _("Figures recomputed from the orders."), messages.SUCCESS)
        return self._back_to(profile)
