"""The sales reports, read from the daily summaries (reports.summaries): by day,
product, category, distributor and grade."""

from typing import ClassVar

from django import forms
from django.db.models import Count, F, Max, OuterRef, Subquery, Sum
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from mptt.forms import TreeNodeChoiceField

from catalog.models import Category
from core.models import localized
from core.money import from_db_sum
from distributors.models import Grade

from .. import summaries
from ..models import DailySummary, DistributorDay, ProductDay
from .base import (
    CODE,
    DATE,
    MONEY,
    NUMBER,
    SUMMARY_NOTE,
    Column,
    Report,
    distributor_field,
    in_subtree,
)


class SalesByDay(Report):
    note = SUMMARY_NOTE
    slug = "sales-by-day"
    title = _("Sales by day")
    description = _("Each day's paid sales, orders, customers, refunds and commissions.")
    permission = "orders.view_order"
    columns = (
        Column(_("Day"), DATE),
        Column(_("Paid orders"), NUMBER),
        Column(_("Paying customers"), NUMBER),
        Column(_("New customers"), NUMBER),
        Column(_("Paid sales"), MONEY),
        Column(_("Refunded"), MONEY),
        Column(_("Commissions accrued"), MONEY),
        Column(_("Commissions reversed"), MONEY),
    )
    FIELDS = (
        "paid_orders",
        "paying_customers",
        "new_customers",
        "gmv",
        "refunds",
        "commissions_accrued",
        "commissions_reversed",
    )

    def _days(self, filters):
        return DailySummary.objects.filter(day__gte=filters.start, day__lte=filters.end)

    def queryset(self, filters):
        return self._days(filters).order_by("day").values("day", *self.FIELDS)

    def to_row(self, item, filters):
        return (
            item["day"],
            item["paid_orders"],
            item["paying_customers"],
            item["new_customers"],
            from_db_sum(item["gmv"]),
            from_db_sum(item["refunds"]),
            from_db_sum(item["commissions_accrued"]),
            from_db_sum(item["commissions_reversed"]),
        )

    def totals(self, filters):
        sums = self._days(filters).aggregate(
            last_day=Max("day"), **{name: Sum(name) for name in self.FIELDS}
        )
        # A customer who paid on two days is one customer: counted from the orders,
        # up to the end of the last day summarised (the rows shown).
        customers = 0
        if sums["last_day"] is not None:
            customers = summaries.paying_customers(filters.start, sums["last_day"])
        return (
            gettext("Total"),
            sums["paid_orders"] or 0,
            customers,
            sums["new_customers"] or 0,
            from_db_sum(sums["gmv"]),
            from_db_sum(sums["refunds"]),
            from_db_sum(sums["commissions_accrued"]),
            from_db_sum(sums["commissions_reversed"]),
        )


def _category_field():
    return TreeNodeChoiceField(
        queryset=Category.objects.all(),
        required=False,
        label=_("Category"),
        help_text=_("With its subcategories."),
        empty_label=gettext("All categories"),
    )


class SalesByProduct(Report):
    note = SUMMARY_NOTE
    slug = "sales-by-product"
    title = _("Sales by product")
    description = _("Orders, units and sales of each product over the range, best first.")
    permission = "orders.view_order"
    columns = (
        Column(_("Product")),
        Column(_("Category")),
        Column(_("Orders"), NUMBER),
        Column(_("Units"), NUMBER),
        Column(_("Sales"), MONEY),
    )

    FIGURES: ClassVar = {"orders": Sum("orders"), "units": Sum("units"), "sales": Sum("sales")}

    def filter_fields(self):
        return {"category": _category_field()}

    def _days(self, filters):
        days = ProductDay.objects.filter(day__gte=filters.start, day__lte=filters.end)
        if category := filters.get("category"):
            # the category the product had that day (what the day recorded)
            days = days.filter(in_subtree("category", category))
        return days

    def queryset(self, filters):
        return (
            self._days(filters)
            .values(
                "product_id",
                "product__name",
                "product__name_en",
                "product__category__name",
                "product__category__name_en",
            )
            .annotate(**self.FIGURES)
            .order_by("-sales", "product_id")
        )

    def to_row(self, item, filters):
        return (
            localized(item["product__name"], item["product__name_en"]),
            localized(item["product__category__name"], item["product__category__name_en"]),
            item["orders"] or 0,
            item["units"] or 0,
            from_db_sum(item["sales"]),
        )

    def totals(self, filters):
        sums = self._days(filters).aggregate(
            products=Count("product_id", distinct=True), **self.FIGURES
        )
        products = sums["products"]
        return (
            ngettext("Total: %(count)s product", "Total: %(count)s products", products)
            % {"count": products},
            None,
            sums["orders"] or 0,
            sums["units"] or 0,
            from_db_sum(sums["sales"]),
        )


def _root_category(field_name: str) -> Subquery:
    """The name (`field_name`) of the top-level category of a ProductDay's category."""
    return Subquery(
        Category.objects.filter(tree_id=OuterRef("category__tree_id"), level=0).values(field_name)[
            :1
        ]
    )


class SalesByCategory(Report):
    note = SUMMARY_NOTE
    slug = "sales-by-category"
    title = _("Sales by category")
    description = _(
        "Products sold, units and sales of each category; subcategories can be rolled up."
    )
    permission = "orders.view_order"
    columns = (
        Column(_("Category")),
        Column(_("Products sold"), NUMBER),
        Column(_("Units"), NUMBER),
        Column(_("Sales"), MONEY),
    )

    def filter_fields(self):
        return {
            "rollup": forms.BooleanField(
                required=False,
                label=_("Include subcategories"),
                help_text=_("Roll each subcategory up into its top-level category."),
            )
        }

    FIGURES: ClassVar = {
        "products": Count("product_id", distinct=True),
        "units": Sum("units"),
        "sales": Sum("sales"),
    }

    def _days(self, filters):
        return ProductDay.objects.filter(day__gte=filters.start, day__lte=filters.end)

    def queryset(self, filters):
        if filters.get("rollup"):
            # Each top-level category is a tree of its own (django-mptt's tree_id).
            return (
                self._days(filters)
                .values("category__tree_id")
                .annotate(
                    name=_root_category("name"), name_en=_root_category("name_en"), **self.FIGURES
                )
                .order_by("-sales", "category__tree_id")
            )
        return (
            self._days(filters)
            .values("category_id", "category__name", "category__name_en", "category__level")
            .annotate(
                root=_root_category("name"), root_en=_root_category("name_en"), **self.FIGURES
            )
            .order_by("-sales", "category_id")
        )

    def to_row(self, item, filters):
        if filters.get("rollup"):
            name = localized(item["name"], item["name_en"]) if item["category__tree_id"] else None
        elif item["category_id"] is None:
            name = None
        else:
            name = localized(item["category__name"], item["category__name_en"])
            if item["category__level"]:
                name = f"{localized(item['root'], item['root_en'])} › {name}"
        return (
            name or gettext("(no category)"),
            item["products"],
            item["units"] or 0,
            from_db_sum(item["sales"]),
        )

    def totals(self, filters):
        sums = self._days(filters).aggregate(**self.FIGURES)
        return (gettext("Total"), sums["products"], sums["units"] or 0, from_db_sum(sums["sales"]))


# What the distributor reports add up of the distributor days.
DISTRIBUTOR_FIGURES = {
    "orders": Sum("orders"),
    "sales": Sum("sales"),
    "commissions": Sum("commissions"),
}
DISTRIBUTORS = Count("distributor_id", distinct=True)


def _grade_field():
    return forms.ModelChoiceField(
        queryset=Grade.objects.all(),
        required=False,
        label=_("Grade"),
        empty_label=gettext("All grades"),
    )


class SalesByDistributor(Report):
    note = SUMMARY_NOTE
    slug = "sales-by-distributor"
    title = _("Sales by distributor")
    description = _("Orders credited to each distributor, their sales and commissions accrued.")
    permission = "orders.view_order"
    columns = (
        Column(_("Distributor"), CODE),
        Column(_("Invite code"), CODE),
        Column(_("Grade"), CODE),
        Column(_("Orders"), NUMBER),
        Column(_("Sales"), MONEY),
        Column(_("Commissions accrued"), MONEY),
    )

    def filter_fields(self):
        return {
            "grade": _grade_field(),
            "distributor": distributor_field(),
        }

    def _days(self, filters):
        days = DistributorDay.objects.filter(day__gte=filters.start, day__lte=filters.end)
        if grade := filters.get("grade"):
            days = days.filter(grade=grade)  # the grade they had that day
        if distributor := filters.get("distributor"):
            days = days.filter(distributor=distributor)
        return days

    def queryset(self, filters):
        return (
            self._days(filters)
            .values(
                "distributor_id",
                "distributor__user__username",
                "distributor__invite_code",
                "distributor__grade__name",
                "distributor__grade__name_en",
            )
            .annotate(**DISTRIBUTOR_FIGURES)
            .order_by("-sales", "distributor_id")
        )

    def to_row(self, item, filters):
        return (
            item["distributor__user__username"],
            item["distributor__invite_code"],
            localized(item["distributor__grade__name"], item["distributor__grade__name_en"]),
            item["orders"] or 0,
            from_db_sum(item["sales"]),
            from_db_sum(item["commissions"]),
        )

    def totals(self, filters):
        sums = self._days(filters).aggregate(distributors=DISTRIBUTORS, **DISTRIBUTOR_FIGURES)
        count = sums["distributors"]
        return (
            ngettext("Total: %(count)s distributor", "Total: %(count)s distributors", count)
            % {"count": count},
            None,
            None,
            sums["orders"] or 0,
            from_db_sum(sums["sales"]),
            from_db_sum(sums["commissions"]),
        )


class SalesByGrade(Report):
    note = SUMMARY_NOTE
    slug = "sales-by-grade"
    title = _("Sales by grade")
    description = _("Distributors, orders, sales and commissions of each distributor grade.")
    permission = "orders.view_order"
    columns = (
        Column(_("Grade"), CODE),
        Column(_("Distributors"), NUMBER),
        Column(_("Orders"), NUMBER),
        Column(_("Sales"), MONEY),
        Column(_("Commissions accrued"), MONEY),
    )

    def _days(self, filters):
        return DistributorDay.objects.filter(day__gte=filters.start, day__lte=filters.end)

    def queryset(self, filters):
        return (
            self._days(filters)
            .values("grade_id", "grade__name", "grade__name_en", "grade__rank")
            .annotate(distributors=DISTRIBUTORS, **DISTRIBUTOR_FIGURES)
            .order_by(F("grade__rank").asc(nulls_last=True), "grade_id")
        )

    def to_row(self, item, filters):
        name = localized(item["grade__name"], item["grade__name_en"]) if item["grade_id"] else ""
        return (
            name or gettext("(no grade)"),
            item["distributors"],
            item["orders"] or 0,
            from_db_sum(item["sales"]),
            from_db_sum(item["commissions"]),
        )

    def totals(self, filters):
        sums = self._days(filters).aggregate(distributors=DISTRIBUTORS, **DISTRIBUTOR_FIGURES)
        return (
            gettext("Total"),
            sums["distributors"],
            sums["orders"] or 0,
            from_db_sum(sums["sales"]),
            from_db_sum(sums["commissions"]),
        )
