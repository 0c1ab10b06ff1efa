"""The back office of the customer record (客户): the customer list and page, tags,
segment thresholds and saved segments (export, issue a coupon).

Profiles come from crm.segments (nightly, or when a customer's page is opened
before their first refresh): nobody adds or deletes them by hand. Every page
and action checks the staff member's permissions on the model it reads or
writes.
"""

import csv

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, DecimalField, ExpressionWrapper, F
from django.http import Http404, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from core.admin import CSV_BOM, ObjectViewsMixin, SingletonAdmin, csv_download, excel_safe
from core.money import format_cny
from marketing import coupons
from marketing.admin.coupons import issued_message

from . import segments, selectors, services
from .forms import (
    CustomerTagsForm,
    IssueToSegmentForm,
    NoteForm,
    SavedSegmentForm,
    SegmentSettingsForm,
    TagChoiceForm,
    TagForm,
)
from .models import CustomerProfile, SavedSegment, Segment, SegmentSettings, Tag

CSS = {"all": ["admin/css/crm.css"]}


def segment_badge(segment: str):
    """A segment as a coloured badge (crm.css gives each its colour)."""
    return format_html(
        '<span class="segment-badge segment-{}">{}</span>', segment, Segment(segment).label
    )


def tag_chips(tags):
    return format_html_join(
        " ",
        '<span class="tag-chip" style="--tag-color: {}">{}</span>',
        ((tag.color, tag.display_name) for tag in tags),
    )


def local_time(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


# The columns of a customer export, in order, with their headers.
EXPORT_COLUMNS = (
    ("username", gettext_lazy("Username")),
    ("name", gettext_lazy("Name")),
    ("phone", gettext_lazy("Mobile phone")),
    ("segment", gettext_lazy("Segment")),
    ("orders", gettext_lazy("Paid orders")),
    ("spent", gettext_lazy("Spent")),
    ("last_order", gettext_lazy("Last order")),
    ("bound_distributor", gettext_lazy("Bound distributor")),
    ("tags", gettext_lazy("Tags")),
)


def export_lines(profiles):
    """The header and one row per customer of `profiles` (text cells made safe for
    Excel, amounts in yuan as 1299.00)."""
    yield [str(header) for _key, header in EXPORT_COLUMNS]
    for row in selectors.export_rows(profiles):
        yield [
            row[key] if key in ("orders", "spent") else excel_safe(row[key])
            for key, _header in EXPORT_COLUMNS
        ]


class _Echo:
    """A file that hands back what is written to it: csv.writer then yields lines."""

    def write(self, value):
        return value


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
        name = selectors.customer_name(profile.user)
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
            "name": selectors.customer_name(profile.user),
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


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    form = TagForm
    list_display = ("name", "name_en", "colour", "customer_count")
    search_fields = ("name", "name_en")

    class Media:
        css = CSS

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(customer_count=Count("customers"))

    @admin.display(description=gettext_lazy("colour"))
    def colour(self, tag):
        return tag_chips([tag])

    @admin.display(description=gettext_lazy("customers"), ordering="customer_count")
    def customer_count(self, tag):
        url = reverse("admin:crm_customerprofile_changelist")
        return format_html(
            '<a href="{}?tags__id__exact={}">{}</a>', url, tag.pk, tag.customer_count
        )


@admin.register(SegmentSettings)
class SegmentSettingsAdmin(SingletonAdmin):
    """The thresholds; saving them recomputes every customer's segment on the worker."""

    form = SegmentSettingsForm
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "dormant_days",
                    "at_risk_days",
                    "high_value_spent",
                    "high_value_orders",
                    "new_days",
                ),
                "description": gettext_lazy(
                    "Each customer is in the first segment that fits, in this order: Never "
                    "bought (no paid order), Dormant, At risk, High value, New, and Active for "
                    "everyone else. Figures count every order that was paid, less what was "
                    "refunded; they are recomputed every night at 02:40."
                ),
            },
        ),
    )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.schedule_refresh()
        self.message_user(
            request,
            _("Customers' segments are being recomputed with the new thresholds."),
            messages.INFO,
        )


@admin.register(SavedSegment)
class SavedSegmentAdmin(ObjectViewsMixin, admin.ModelAdmin):
    """Saved customer filters: how many customers each has, their CSV, a coupon for them."""

    form = SavedSegmentForm
    list_display = ("name", "conditions", "customers", "export_link", "created_by", "created_at")
    search_fields = ("name",)
    autocomplete_fields = ("bound_to",)
    actions = ["issue_coupon"]
    change_form_template = "admin/crm/savedsegment/change_form.html"
    object_views = (
        ("export", "export_view", "export"),
        ("issue-coupon", "issue_coupon_view", "issue_coupon"),
    )
    preview_size = 10

    class Media:
        css = CSS

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("created_by", "bound_to__user")
            .prefetch_related("tags")
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description=gettext_lazy("conditions"))
    def conditions(self, saved):
        return conditions_text(saved)

    @admin.display(description=gettext_lazy("customers"))
    def customers(self, saved):
        """How many customers match now (one count per saved segment)."""
        count = selectors.matching_customers(saved).count()
        url = reverse("admin:crm_customerprofile_changelist")
        return format_html('<a href="{}?saved_segment={}">{}</a>', url, saved.pk, count)

    @admin.display(description=pgettext_lazy("saved segment column", "export"))
    def export_link(self, saved):
        url = reverse("admin:crm_savedsegment_export", args=[saved.pk])
        return format_html('<a href="{}">{}</a>', url, _("CSV"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        saved = self.get_object(request, unquote(object_id))
        extra = dict(extra_context or {})
        if saved is not None and self.has_view_or_change_permission(request, saved):
            customers = selectors.matching_customers(saved)
            extra.update(
                customer_count=customers.count(),
                preview=list(
                    selectors.export_rows(selectors.profiles_of(customers[: self.preview_size]))
                ),
                can_issue=self._may_issue(request),
            )
        return super().change_view(request, object_id, form_url, extra)

    def _may_export(self, request) -> bool:
        return self.has_view_or_change_permission(request) and request.user.has_perm(
            "crm.view_customerprofile"
        )

    def _may_issue(self, request) -> bool:
        return self.has_view_or_change_permission(request) and request.user.has_perm(
            "marketing.change_coupon"
        )

    def export_view(self, request, pk):
        """The customers of the saved segment as CSV, streamed (a chunk at a time)."""
        if not self._may_export(request):
            raise PermissionDenied
        saved = get_object_or_404(SavedSegment.objects.prefetch_related("tags"), pk=pk)
        profiles = selectors.profiles_of(selectors.matching_customers(saved))
        writer = csv.writer(_Echo())

        def lines():
            yield CSV_BOM
            for row in export_lines(profiles):
                yield writer.writerow(row)

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="segment-{saved.pk}-{stamp}.csv"'
        return response

    def _issue_page(self, request, saved_segments, *, from_list: bool):
        """Choose a coupon and give it to every customer of `saved_segments`; a
        refusal of marketing.coupons is told as an error and the form stays."""
        form = IssueToSegmentForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            coupon = form.cleaned_data["coupon"]
            try:
                done = services.issue_coupon_to_segments(coupon, saved_segments, actor=request.user)
            except coupons.ClaimError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, issued_message(coupon, done), messages.SUCCESS)
                if from_list:
                    return None
                return HttpResponseRedirect(
                    reverse("admin:crm_savedsegment_change", args=[saved_segments[0].pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Issue a coupon"),
            "form": form,
            "saved_segments": [
                (saved, selectors.matching_customers(saved).count()) for saved in saved_segments
            ],
            "from_list": from_list,
            "original": None if from_list else saved_segments[0],
            "action": request.POST.get("action"),
            "select_across": request.POST.get("select_across", "0"),
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/crm/savedsegment/issue_coupon.html", context)

    @admin.action(
        description=gettext_lazy("Issue a coupon to the customers of selected saved segments"),
        permissions=["issue"],
    )
    def issue_coupon(self, request, queryset):
        return self._issue_page(request, list(queryset.prefetch_related("tags")), from_list=True)

    def has_issue_permission(self, request):
        return self._may_issue(request)

    def issue_coupon_view(self, request, pk):
        if not self._may_issue(request):
            raise PermissionDenied
        saved = get_object_or_404(SavedSegment.objects.prefetch_related("tags"), pk=pk)
        return self._issue_page(request, [saved], from_list=False)


def conditions_text(saved: SavedSegment) -> str:
    """A saved segment's conditions in one line (— when it has none: everyone)."""
    parts = []
    if saved.segments:
        labels = dict(Segment.choices)
        parts.append(", ".join(str(labels.get(value, value)) for value in saved.segments))
    tags = list(saved.tags.all())
    if tags:
        parts.append(_("tags: %(tags)s") % {"tags": ", ".join(t.display_name for t in tags)})
    if saved.min_spent is not None:
        parts.append(_("spent ≥ %(amount)s") % {"amount": format_cny(saved.min_spent)})
    if saved.min_orders is not None:
        parts.append(
            ngettext("≥ %(count)d order", "≥ %(count)d orders", saved.min_orders)
            % {"count": saved.min_orders}
        )
    if saved.ordered_within_days is not None:
        parts.append(
            ngettext(
                "ordered within %(days)d day",
                "ordered within %(days)d days",
                saved.ordered_within_days,
            )
            % {"days": saved.ordered_within_days}
        )
    if saved.bound_to_id is not None:
        parts.append(_("bound to %(name)s") % {"name": saved.bound_to.user.get_username()})
    return " · ".join(parts) if parts else "—"
