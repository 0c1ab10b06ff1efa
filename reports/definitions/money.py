"""Money owed and paid to distributors (commissions, withdrawals) and given back
to customers (refunds), read from their records by the time each was created."""

from typing import ClassVar

from django import forms
from django.db.models import Count, F, Q, Sum
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from commissions.models import Commission, PayoutMethod, Withdrawal
from core.money import from_db_sum
from orders.models import AfterSaleRequest

from .base import CODE, MONEY, NUMBER, TIME, Column, Report, choices_with_all, distributor_field


class CommissionsByDistributor(Report):
    slug = "commissions"
    title = _("Commissions by distributor and level")
    description = _(
        "Commissions accrued in the range for each distributor and level: amount, "
        "reversed by refunds, and what they keep."
    )
    permission = "commissions.view_commission"
    columns = (
        Column(_("Distributor"), CODE),
        Column(_("Invite code"), CODE),
        Column(_("Level"), NUMBER),
        Column(_("Commissions"), NUMBER),
        Column(_("Amount"), MONEY),
        Column(_("Reversed"), MONEY),
        Column(_("Net"), MONEY),
    )

    def filter_fields(self):
        return {
            "distributor": distributor_field(),
            "level": forms.TypedChoiceField(
                choices=choices_with_all(gettext("All levels"), [(n, str(n)) for n in (1, 2, 3)]),
                coerce=int,
                required=False,
                empty_value=None,
                label=_("Level"),
            ),
            "status": forms.ChoiceField(
                choices=choices_with_all(gettext("All statuses"), Commission.Status.choices),
                required=False,
                label=_("Status"),
            ),
        }

    def _commissions(self, filters):
        commissions = Commission.objects.filter(
            created_at__gte=filters.since, created_at__lt=filters.until
        )
        if distributor := filters.get("distributor"):
            commissions = commissions.filter(distributor=distributor)
        if level := filters.get("level"):
            commissions = commissions.filter(level=level)
        if status := filters.get("status"):
            commissions = commissions.filter(status=status)
        return commissions

    FIGURES: ClassVar = {
        "number": Count("pk"),
        "amount_total": Sum("amount"),
        "reversed_total": Sum("reversed_amount"),
        "net_total": Sum(F("amount") - F("reversed_amount")),
    }

    def queryset(self, filters):
        return (
            self._commissions(filters)
            .values(
                "distributor_id", "distributor__user__username", "distributor__invite_code", "level"
            )
            .annotate(**self.FIGURES)
            .order_by("distributor__user__username", "distributor_id", "level")
        )

    def to_row(self, item, filters):
        return (
            item["distributor__user__username"],
            item["distributor__invite_code"],
            item["level"],
            item["number"],
            from_db_sum(item["amount_total"]),
            from_db_sum(item["reversed_total"]),
            from_db_sum(item["net_total"]),
        )

    def totals(self, filters):
        sums = self._commissions(filters).aggregate(
            distributors=Count("distributor_id", distinct=True), **self.FIGURES
        )
        count = sums["distributors"]
        return (
            ngettext("Total: %(count)s distributor", "Total: %(count)s distributors", count)
            % {"count": count},
            None,
            None,
            sums["number"],
            from_db_sum(sums["amount_total"]),
            from_db_sum(sums["reversed_total"]),
            from_db_sum(sums["net_total"]),
        )


class Withdrawals(Report):
    slug = "withdrawals"
    title = _("Withdrawals")
    description = _(
        "Each withdrawal requested in the range: amount, fee, what was paid, how and when."
    )
    permission = "commissions.view_withdrawal"
    columns = (
        Column(_("Requested"), TIME),
        Column(_("Number"), CODE),
        Column(_("Distributor"), CODE),
        Column(_("Amount"), MONEY),
        Column(_("Fee"), MONEY),
        Column(_("Net amount"), MONEY),
        Column(_("Payout method"), CODE),
        Column(_("Account"), CODE),
        Column(_("Status"), CODE),
        Column(_("Reviewed"), TIME),
    )

    def filter_fields(self):
        return {
            "status": forms.ChoiceField(
                choices=choices_with_all(gettext("All statuses"), Withdrawal.Status.choices),
                required=False,
                label=_("Status"),
            ),
            "method": forms.ChoiceField(
                choices=choices_with_all(gettext("All methods"), PayoutMethod.choices),
                required=False,
                label=_("Payout method"),
            ),
            "distributor": distributor_field(),
        }

    def _withdrawals(self, filters):
        withdrawals = Withdrawal.objects.filter(
            created_at__gte=filters.since, created_at__lt=filters.until
        )
        for name in ("status", "method", "distributor"):
            if value := filters.get(name):
                withdrawals = withdrawals.filter(**{name: value})
        return withdrawals

    def queryset(self, filters):
        return (
            self._withdrawals(filters)
            .select_related("distributor__user")
            .only(
                "created_at",
                "distributor__user__username",
                "amount",
                "fee",
                "net_amount",
                "method",
                "account_number",
                "status",
                "reviewed_at",
            )
            .order_by("created_at", "pk")
        )

    def to_row(self, withdrawal, filters):
        return (
            withdrawal.created_at,
            withdrawal.payout_bill_no,
            withdrawal.distributor.user.get_username(),
            withdrawal.amount,
            withdrawal.fee,
            withdrawal.net_amount,
            withdrawal.get_method_display(),
            # the last four characters only: a report travels further than the admin
            withdrawal.masked_account_number,
            withdrawal.get_status_display(),
            withdrawal.reviewed_at,
        )

    def totals(self, filters):
        sums = self._withdrawals(filters).aggregate(
            number=Count("pk"), amount=Sum("amount"), fee=Sum("fee"), net=Sum("net_amount")
        )
        count = sums["number"]
        return (
            ngettext("Total: %(count)s withdrawal", "Total: %(count)s withdrawals", count)
            % {"count": count},
            None,
            None,
            from_db_sum(sums["amount"]),
            from_db_sum(sums["fee"]),
            from_db_sum(sums["net"]),
            None,
            None,
            None,
            None,
        )


class Refunds(Report):
    """Refunds and their reasons: by reason (the default), or each request."""

    slug = "refunds"
    title = _("Refunds and reasons")
    description = _(
        "After-sale requests of the range by reason, with what was refunded; or each request."
    )
    permission = "orders.view_aftersalerequest"
    columns = (
        Column(_("Reason")),
        Column(_("Requests"), NUMBER),
        Column(_("Amount asked"), MONEY),
        Column(_("Refunded"), NUMBER),
        Column(_("Amount refunded"), MONEY),
    )
    detail_columns = (
        Column(_("Requested"), TIME),
        Column(_("Order number"), CODE),
        Column(_("Kind"), CODE),
        Column(_("Reason")),
        Column(_("Details")),
        Column(_("Amount"), MONEY),
        Column(_("Status"), CODE),
        Column(_("Decided"), TIME),
    )
    BY_REASON, EACH = "reasons", "requests"

    def filter_fields(self):
        return {
            "mode": forms.ChoiceField(
                choices=[(self.BY_REASON, _("By reason")), (self.EACH, _("Each request"))],
                required=False,
                label=_("Show"),
            ),
            "reason": forms.ChoiceField(
                choices=choices_with_all(gettext("All reasons"), AfterSaleRequest.Reason.choices),
                required=False,
                label=_("Reason"),
            ),
            "kind": forms.ChoiceField(
                choices=choices_with_all(gettext("All kinds"), AfterSaleRequest.Kind.choices),
                required=False,
                label=_("Kind"),
            ),
            "status": forms.ChoiceField(
                choices=choices_with_all(gettext("All statuses"), AfterSaleRequest.Status.choices),
                required=False,
                label=_("Status"),
            ),
        }

    def _each(self, filters) -> bool:
        return filters.get("mode") == self.EACH

    def get_columns(self, filters):
        return self.detail_columns if self._each(filters) else self.columns

    def _requests(self, filters):
        requests = AfterSaleRequest.objects.filter(
            created_at__gte=filters.since, created_at__lt=filters.until
        )
        for name in ("reason", "kind", "status"):
            if value := filters.get(name):
                requests = requests.filter(**{name: value})
        return requests

    REFUNDED = Q(status=AfterSaleRequest.Status.REFUNDED)
    FIGURES: ClassVar = {
        "number": Count("pk"),
        "asked": Sum("amount"),
        "refunded": Count("pk", filter=REFUNDED),
        "refunded_amount": Sum("amount", filter=REFUNDED),
    }

    def queryset(self, filters):
        if self._each(filters):
            return (
                self._requests(filters)
                .select_related("order")
                .only(
                    "created_at",
                    "order__number",
                    "kind",
                    "reason",
                    "reason_text",
                    "amount",
                    "status",
                    "decided_at",
                )
                .order_by("created_at", "pk")
            )
        return (
            self._requests(filters)
            .values("reason")
            .annotate(**self.FIGURES)
            .order_by("-number", "reason")
        )

    def to_row(self, item, filters):
        if self._each(filters):
            return (
                item.created_at,
                item.order.number,
                item.get_kind_display(),
                item.get_reason_display(),
                item.reason_text,
                item.amount,
                item.get_status_display(),
                item.decided_at,
            )
        return (
            str(AfterSaleRequest.Reason(item["reason"]).label),
            item["number"],
            from_db_sum(item["asked"]),
            item["refunded"],
            from_db_sum(item["refunded_amount"]),
        )

    def totals(self, filters):
        sums = self._requests(filters).aggregate(**self.FIGURES)
        if self._each(filters):
            count = sums["number"]
            return (
                ngettext("Total: %(count)s request", "Total: %(count)s requests", count)
                % {"count": count},
                *([None] * 4),
                from_db_sum(sums["asked"]),
                None,
                None,
            )
        return (
            gettext("Total"),
            sums["number"],
            from_db_sum(sums["asked"]),
            sums["refunded"],
            from_db_sum(sums["refunded_amount"]),
        )
