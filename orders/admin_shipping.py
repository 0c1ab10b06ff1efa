"""The order admin's shipping pages: batch shipping from a CSV and packing slips (发货单).

Hooked into OrderAdmin by `urls()` and the `print_packing_slips` action; every
page needs the change permission on orders.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import batch_shipping
from .models import Order, OrderLine
from .tracking import carriers


class BatchShipForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "Columns: order number, carrier, tracking number. UTF-8 or GBK; a header row is fine."
        ),
    )


def urls(modeladmin) -> list:
    def view(function, route, name):
        return path(
            route,
            modeladmin.admin_site.admin_view(
                lambda request, **kw: function(modeladmin, request, **kw)
            ),
            name=f"orders_order_{name}",
        )

    return [
        view(batch_ship_view, "batch-ship/", "batch_ship"),
        view(batch_ship_template, "batch-ship/template.csv", "batch_ship_template"),
        view(packing_slip_view, "<int:pk>/packing-slip/", "packing_slip"),
    ]


def _require_change(modeladmin, request) -> None:
    if not modeladmin.has_change_permission(request):
        raise PermissionDenied


def batch_ship_view(modeladmin, request):
    """Upload -> preview (every row checked) -> confirm (the valid rows shipped)."""
    _require_change(modeladmin, request)
    changelist = reverse("admin:orders_order_changelist")
    rows, form = None, BatchShipForm()
    if request.method == "POST" and "confirm" in request.POST:
        rows = batch_shipping.check_rows(
            [
                batch_shipping.Row(line, number, carrier, tracking)
                for line, number, carrier, tracking in zip(
                    request.POST.getlist("line"),
                    request.POST.getlist("number"),
                    request.POST.getlist("carrier"),
                    request.POST.getlist("tracking"),
                    strict=False,
                )
            ]
        )
        shipped, refused = batch_shipping.ship_rows(rows, actor=request.user)
        if shipped:
            modeladmin.message_user(
                request,
                _("%(count)d order(s) shipped.") % {"count": len(shipped)},
                messages.SUCCESS,
            )
        for row in refused:
            modeladmin.message_user(
                request,
                _("Line %(line)s, order %(number)s: %(error)s")
                % {"line": row.line, "number": row.number, "error": row.error},
                messages.ERROR,
            )
        return HttpResponseRedirect(changelist)
    if request.method == "POST":
        form = BatchShipForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                rows = batch_shipping.check_rows(
                    batch_shipping.read_rows(form.cleaned_data["file"].read())
                )
            except batch_shipping.BadFile as exc:
                form.add_error("file", str(exc))
    valid = [row for row in rows or [] if row.is_valid]
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": Order._meta,
        "title": _("Batch shipping"),
        "form": form,
        "rows": rows,
        "valid_rows": valid,
        "invalid_count": len(rows or []) - len(valid),
        "carriers": carriers.offered(),
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, "admin/orders/order/batch_ship.html", context)


def batch_ship_template(modeladmin, request):
    _require_change(modeladmin, request)
    response = HttpResponse(batch_shipping.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="batch-shipping.csv"'
    return response


def _with_lines(queryset):
    return queryset.prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("pk")))


def _packing_slips(modeladmin, request, orders):
    context = {
        **modeladmin.admin_site.each_context(request),
        "orders": orders,
        "title": _("Packing slip"),
        "back_url": reverse("admin:orders_order_changelist"),
    }
    return TemplateResponse(request, "admin/orders/order/packing_slip.html", context)


def packing_slip_view(modeladmin, request, pk):
    _require_change(modeladmin, request)
    order = get_object_or_404(_with_lines(Order.objects.all()), pk=pk)
    return _packing_slips(modeladmin, request, [order])


@admin.action(
    description=gettext_lazy("Print packing slips of selected orders"), permissions=["change"]
)
def print_packing_slips(modeladmin, request, queryset):
    return _packing_slips(modeladmin, request, list(_with_lines(queryset).order_by("pk")))
