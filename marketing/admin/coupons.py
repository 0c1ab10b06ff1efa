"""Admin of marketing: coupons (优惠券) and the coupons shoppers hold, and issuing them."""

from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from import_export import fields, resources
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV

from core.admin import ObjectViewsMixin, ReadOnlyAdmin, object_form_page

from .. import coupons
from ..forms import CouponForm, IssueCouponForm
from ..models import Coupon, CouponClaim
from ..templatetags.coupon_tags import condition, face_value, scope_text, validity_text
from . import report


def issued_message(coupon: Coupon, issued: coupons.Issued) -> str:
    """What issuing did, for staff: how many got one, and who was skipped and why."""
    parts = [
        ngettext(
            "“%(name)s” was given to %(count)d customer.",
            "“%(name)s” was given to %(count)d customers.",
            issued.issued,
        )
        % {"name": coupon, "count": issued.issued}
    ]
    if issued.at_limit:
        parts.append(
            ngettext(
                "%(count)d already held as many as one person may.",
                "%(count)d already held as many as one person may.",
                issued.at_limit,
            )
            % {"count": issued.at_limit}
        )
    if issued.not_new:
        parts.append(
            ngettext(
                "%(count)d has paid for an order before and is not a new customer.",
                "%(count)d have paid for orders before and are not new customers.",
                issued.not_new,
            )
            % {"count": issued.not_new}
        )
    return " ".join(parts)


class CouponResource(resources.ModelResource):
    """Coupon templates as the list shows them, with how many were handed out and used (CSV)."""

    name = fields.Field(attribute="name", column_name=gettext_lazy("name"))
    face_value = fields.Field(column_name=gettext_lazy("face value"))
    condition = fields.Field(column_name=gettext_lazy("condition"))
    scope = fields.Field(column_name=gettext_lazy("applies to"))
    validity = fields.Field(column_name=gettext_lazy("validity"))
    claimed = fields.Field(attribute="claimed_count", column_name=gettext_lazy("handed out"))
    quantity = fields.Field(attribute="total_quantity", column_name=gettext_lazy("quantity"))
    used = fields.Field(attribute="used", column_name=gettext_lazy("used"))
    audience = fields.Field(
        attribute="get_audience_display", column_name=gettext_lazy("who may claim")
    )
    is_active = fields.Field(column_name=gettext_lazy("active"))

    class Meta:
        model = Coupon
        fields = (
            "name",
            "face_value",
            "condition",
            "scope",
            "validity",
            "claimed",
            "quantity",
            "used",
            "audience",
            "is_active",
        )
        export_order = fields

    def dehydrate_face_value(self, coupon):
        return face_value(coupon)

    def dehydrate_condition(self, coupon):
        return condition(coupon)

    def dehydrate_scope(self, coupon):
        return scope_text(coupon)

    def dehydrate_validity(self, coupon):
        return validity_text(coupon)

    def dehydrate_is_active(self, coupon):
        return _("yes") if coupon.is_active else _("no")


@admin.register(Coupon)
class CouponAdmin(ObjectViewsMixin, ExportMixin, admin.ModelAdmin):
    """Coupon templates; shoppers claim them in the coupon centre, staff issue them here."""

    form = CouponForm
    resource_classes = [CouponResource]
    formats = [CSV]
    # Our list (the campaign report link), which import-export wraps with its export button.
    change_list_template = "admin/marketing/coupon/change_list.html"
    list_display = (
        "name",
        "face_value_shown",
        "condition_shown",
        "handed_out",
        "used_count",
        "validity_shown",
        "in_centre",
        "is_active",
    )
    list_filter = ("is_active", "is_public", "kind", "scope", "audience")
    search_fields = ("name", "name_en")
    autocomplete_fields = ("categories", "products")
    readonly_fields = ("claimed_count",)

    def get_urls(self):
        # The campaign report (marketing/admin/report.py) before the <pk> routes.
        return report.urls(self) + super().get_urls()

    fieldsets = (
        (None, {"fields": ("name", "name_en")}),
        (
            gettext_lazy("Discount"),
            {
                "fields": ("kind", "amount", "threshold", "percent_off", "max_discount"),
                "description": gettext_lazy(
                    "满减: the amount off above a minimum. 折扣: a percentage, at most the "
                    "largest discount. 无门槛: the amount off any order."
                ),
            },
        ),
        (gettext_lazy("Applies to"), {"fields": ("scope", "categories", "products")}),
        (
            gettext_lazy("Validity"),
            {
                "fields": ("validity", "valid_from", "valid_until", "valid_days"),
                "description": gettext_lazy(
                    "Fixed dates: from the first to the last moment. Days after claiming: "
                    "each claim is valid that many days."
                ),
            },
        ),
        (
            gettext_lazy("Quantity and limits"),
            {"fields": ("total_quantity", "claimed_count", "per_person_limit")},
        ),
        (gettext_lazy("Who and where"), {"fields": ("audience", "is_public", "is_active")}),
    )
    change_form_template = "admin/marketing/coupon/change_form.html"
    object_views = (("issue", "issue_view", "issue"),)

    def get_queryset(self, request):
        used = Count("claims", filter=Q(claims__order__isnull=False))
        return super().get_queryset(request).annotate(used=used)

    def get_export_queryset(self, request):
        return super().get_export_queryset(request).prefetch_related("categories", "products")

    @admin.display(description=gettext_lazy("face value"))
    def face_value_shown(self, coupon):
        return face_value(coupon)

    @admin.display(description=gettext_lazy("condition"))
    def condition_shown(self, coupon):
        return condition(coupon)

    @admin.display(description=gettext_lazy("handed out"), ordering="claimed_count")
    def handed_out(self, coupon):
        total = coupon.total_quantity if coupon.total_quantity is not None else "∞"
        return f"{coupon.claimed_count} / {total}"

    @admin.display(description=gettext_lazy("used"), ordering="used")
    def used_count(self, coupon):
        return coupon.used

    @admin.display(description=gettext_lazy("validity"))
    def validity_shown(self, coupon):
        return validity_text(coupon)

    @admin.display(description=gettext_lazy("public"), boolean=True, ordering="is_public")
    def in_centre(self, coupon):
        return coupon.is_public

    def issue_view(self, request, pk):
        """Give the coupon to chosen customers, or to those meeting conditions (发券)."""

        def issue(coupon, data):
            if data["customers"]:
                done = coupons.issue(coupon, data["customers"], actor=request.user)
            else:
                done = coupons.issue_to_matching(
                    coupon,
                    actor=request.user,
                    spent_at_least=data["spent_at_least"],
                    ordered_within_days=data["ordered_within_days"],
                    bound_to=data["bound_to"],
                )
            return issued_message(coupon, done)

        return object_form_page(
            self,
            request,
            pk,
            form_class=IssueCouponForm,
            apply=issue,
            refused=coupons.ClaimError,
            template="admin/marketing/coupon/issue.html",
            title=lambda coupon: _("Issue “%(name)s”") % {"name": coupon},
            form_kwargs=lambda coupon: {"admin_site": self.admin_site},
            extra_context=lambda coupon: {
                "groups": [
                    (_("These customers"), ["customers"]),
                    (
                        _("Or every customer who meets the conditions"),
                        ["spent_at_least", "ordered_within_days", "bound_to"],
                    ),
                ]
            },
        )


class ClaimStateFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return CouponClaim.State.choices

    def queryset(self, request, queryset):
        now = timezone.now()
        conditions = {
            CouponClaim.State.USABLE: Q(order=None, valid_until__gt=now),
            CouponClaim.State.USED: Q(order__isnull=False),
            CouponClaim.State.EXPIRED: Q(order=None, valid_until__lte=now),
        }
        condition = conditions.get(self.value())
        return queryset.filter(condition) if condition is not None else queryset


class ClaimResource(resources.ModelResource):
    """The coupons shoppers hold, one row each (CSV export)."""

    coupon = fields.Field(attribute="coupon__name", column_name=gettext_lazy("coupon"))
    shopper = fields.Field(attribute="user__username", column_name=gettext_lazy("shopper"))
    phone = fields.Field(attribute="user__phone", column_name=gettext_lazy("mobile phone"))
    state = fields.Field(column_name=gettext_lazy("state"))
    source = fields.Field(attribute="get_source_display", column_name=gettext_lazy("source"))
    claimed_at = fields.Field(attribute="claimed_at", column_name=gettext_lazy("claimed"))
    valid_until = fields.Field(attribute="valid_until", column_name=gettext_lazy("valid until"))
    order = fields.Field(attribute="order__number", column_name=gettext_lazy("used on order"))
    used_at = fields.Field(attribute="used_at", column_name=gettext_lazy("used"))

    class Meta:
        model = CouponClaim
        fields = (
            "coupon",
            "shopper",
            "phone",
            "state",
            "source",
            "claimed_at",
            "valid_until",
            "order",
            "used_at",
        )

    def dehydrate_state(self, claim):
        return str(CouponClaim.State(claim.state()).label)


@admin.register(CouponClaim)
class CouponClaimAdmin(ExportMixin, ReadOnlyAdmin):
    """The coupons shoppers hold: written by claiming, issuing and orders only. Fits
    1280 px beside the filters; when each was claimed is in the dates above and the CSV."""

    resource_classes = [ClaimResource]
    formats = [CSV]
    list_display = (
        "coupon",
        "user",
        "state_shown",
        "source",
        "valid_until",
        "order_link",
    )
    list_filter = (ClaimStateFilter, "source", ("coupon", admin.RelatedOnlyFieldListFilter))
    search_fields = ("user__username", "user__phone", "coupon__name", "order__number")
    list_select_related = ("coupon", "user", "order")
    date_hierarchy = "claimed_at"

    def get_export_queryset(self, request):
        return super().get_export_queryset(request).select_related("coupon", "user", "order")

    @admin.display(description=gettext_lazy("state"))
    def state_shown(self, claim):
        return CouponClaim.State(claim.state()).label

    @admin.display(description=gettext_lazy("used on order"), ordering="order__number")
    def order_link(self, claim):
        if claim.order is None:
            return "-"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:orders_order_change", args=[claim.order.pk]),
            claim.order.number,
        )
