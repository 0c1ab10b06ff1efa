from collections.abc import Callable

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from core.errors import ServiceError
from core.money import format_cny


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
    # Rows without the record's own text above them (its __str__ shows codes and ids).
    template = "admin/edit_inline/tabular_records.html"

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


class ObjectViewsMixin:
    """Pages under one object's admin URL (``<pk>/<route>/``), such as "ship" or "move".

    ``object_views`` lists (route, method name, url name suffix); the URL is named
    ``admin:<app>_<model>_<suffix>``. The methods usually end in ``object_form_page``.
    """

    object_views: tuple[tuple[str, str, str], ...] = ()

    def get_urls(self):
        opts = self.model._meta
        return [
            *(
                path(
                    f"<int:pk>/{route}/",
                    self.admin_site.admin_view(getattr(self, method)),
                    name=f"{opts.app_label}_{opts.model_name}_{suffix}",
                )
                for route, method, suffix in self.object_views
            ),
            *super().get_urls(),
        ]


def object_form_page(
    modeladmin,
    request,
    pk,
    *,
    form_class,
    apply: Callable,
    refused: type[Exception] | tuple[type[Exception], ...],
    template: str,
    title: Callable,
    permission: str = "change",
    queryset=None,
    form_kwargs: Callable | None = None,
    extra_context: Callable | None = None,
):
    """One object's page with a form that calls a service (ship, move, approve…).

    Staff without ``has_<permission>_permission`` get 403 before the object is
    looked up (404 if it is not in ``queryset``). A valid POST calls
    ``apply(obj, cleaned_data)``, which returns the message to tell; the browser
    then goes back to the object's change page. A refusal (an exception of the
    ``refused`` types, whose text is for staff) shows on the form and keeps what
    was typed: a ServiceError on the field it names (``ServiceError.add_to``),
    anything else above the form.

    The template gets ``original`` and the object under its model name (``order``),
    ``form``, ``title`` (``title(obj)``), ``media`` and ``extra_context(obj)``.
    """
    if not getattr(modeladmin, f"has_{permission}_permission")(request):
        raise PermissionDenied
    obj = get_object_or_404(
        queryset if queryset is not None else modeladmin.model._default_manager, pk=pk
    )
    data = request.POST if request.method == "POST" else None
    form = form_class(data, **(form_kwargs(obj) if form_kwargs else {}))
    if data is not None and form.is_valid():
        try:
            done = apply(obj, form.cleaned_data)
        except refused as exc:
            if isinstance(exc, ServiceError):
                exc.add_to(form)
            else:
                form.add_error(None, str(exc))
        else:
            modeladmin.message_user(request, done, messages.SUCCESS)
            opts = modeladmin.model._meta
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            )
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": opts,
        "original": obj,
        opts.model_name: obj,
        "form": form,
        "media": modeladmin.media + form.media,
        "title": title(obj),
        **(extra_context(obj) if extra_context else {}),
    }
    return TemplateResponse(request, template, context)


class NoSaveButtonsMixin:
    """A change page where every field is read-only: no "Save" buttons (they would
    save nothing), only "Close". Its work is done by actions and object pages."""

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if change:
            context.update(
                show_save=False, show_save_and_continue=False, show_save_and_add_another=False
            )
        return super().render_change_form(request, context, add, change, form_url, obj)


def cny_column(model, field: str, description=None):
    """A column (or read-only field) showing a money field as ¥1,299.00.

    Name it ``<field>_cny``: mall.css right-aligns such columns. The header is
    the field's own verbose name unless ``description`` is given.
    """

    @admin.display(
        description=description or model._meta.get_field(field).verbose_name, ordering=field
    )
    def column(self, obj):
        return format_html('<span class="money">{}</span>', format_cny(getattr(obj, field)))

    column.__name__ = f"{field}_cny"
    return column


CSV_BOM = "\ufeff"  # Excel then reads a CSV file as UTF-8 (Chinese names)


def csv_download(name: str) -> HttpResponse:
    """An empty CSV download named `name`-<local time>.csv, its BOM written: hand it to
    csv.writer. (A streamed export yields CSV_BOM first instead.)"""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    response.write(CSV_BOM)
    return response


def excel_safe(value) -> str:
    """A cell Excel shows as the text it is.

    Distributors type their account name and number: a leading = + - @ would
    make Excel run it as a formula (CSV injection), so it gets a quote; a long
    digit string (a bank card) would turn into 6.22E+18 and lose its last
    digits, so it gets a leading tab, which Excel keeps as text.
    """
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    if text.isdigit() and len(text) > 11:
        return "\t" + text
    return text
