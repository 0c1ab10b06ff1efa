"""Customer tags (标签): each with its colour and how many customers carry it."""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy

from ..forms import TagForm
from ..models import Tag
from .common import CSS, tag_chips


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
