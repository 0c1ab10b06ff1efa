"""The segment thresholds and saved segments (客户分群): how many customers each
saved segment has, their CSV, a coupon for them."""

import csv

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from core.admin import CSV_BOM, ObjectViewsMixin, SingletonAdmin
from core.money import format_cny
from marketing import coupons
from marketing.admin.coupons import issued_message

from .. import selectors, services
from ..forms import IssueToSegmentForm, SavedSegmentForm, SegmentSettingsForm
from ..models import SavedSegment, Segment, SegmentSettings
from .common import CSS, export_lines


class _Echo:
    """A file that hands back what is written to it: csv.writer then yields lines."""

    def write(self, value):
        return value


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

    def get_changelist_instance(self, request):
        """The list, with how many customers each saved segment on the page matches
        now: one query for the page (selectors.customer_counts), not one per row."""
        changelist = super().get_changelist_instance(request)
        counts = selectors.customer_counts(changelist.result_list)
        for saved in changelist.result_list:
            saved.customer_count = counts[saved.pk]
        return changelist

    @admin.display(description=gettext_lazy("customers"))
    def customers(self, saved):
        url = reverse("admin:crm_customerprofile_changelist")
        return format_html(
            '<a href="{}?saved_segment={}">{}</a>', url, saved.pk, saved.customer_count
        )

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
        counts = selectors.customer_counts(saved_segments)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Issue a coupon"),
            "form": form,
            "saved_segments": [(saved, counts[saved.pk]) for saved in saved_segments],
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
