"""The site's URLs plus ``/__bare__/``: a view that does nothing, behind the same middleware."""

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns


def bare(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("__bare__/", bare), *site_urlpatterns]
