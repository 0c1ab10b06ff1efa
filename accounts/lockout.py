"""The page a locked-out visitor sees (django-axes's AXES_LOCKOUT_CALLABLE)."""

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import admin
from django.shortcuts import render


def is_admin_request(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return bool(match and match.namespaces and match.namespaces[0] == admin.site.name)


def lockout_response(request, original_response=None, credentials=None):
    """HTTP 429 with a page in the look of where the visitor signed in: the shop's
    layout, or the admin's for /admin/login/."""
    cool_off = get_cool_off(request) or settings.AXES_COOLOFF_TIME
    context = {"cooloff_minutes": max(1, int(cool_off.total_seconds() // 60))}
    if is_admin_request(request):
        context.update(admin.site.each_context(request))
        template = "admin/lockout.html"
    else:
        template = "accounts/lockout.html"
    return render(request, template, context, status=settings.AXES_HTTP_RESPONSE_CODE)
