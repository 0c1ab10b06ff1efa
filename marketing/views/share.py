"""The posters (推广海报) an active distributor downloads: always their own (the
distributor comes from the session, never from the URL)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from catalog.models import Product

from .. import posters, share

# A poster shows today's price: a browser may keep it a few minutes, not for days.
POSTER_MAX_AGE = 5 * 60


def _caller(request):
    distributor = share.active_distributor(request.user)
    if distributor is None:
        raise PermissionDenied  # a shopper, or a suspended distributor
    return distributor


def _png(poster: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(poster, content_type="image/png")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=filename
    )
    patch_cache_control(response, private=True, max_age=POSTER_MAX_AGE)
    return response


@login_required
@require_GET
def product_poster(request, slug):
    """The caller's poster of a product, with the QR code of their link to it."""
    distributor = _caller(request)
    product = get_object_or_404(Product.objects.visible().select_related("category"), slug=slug)
    url = share.product_link(distributor, product, request=request)
    return _png(posters.product_poster(distributor, product, url=url), f"poster-{slug}.png")


@login_required
@require_GET
def shop_poster(request):
    """The caller's poster of the shop, with the QR code of their invite link."""
    distributor = _caller(request)
    url = share.shop_link(distributor, request=request)
    return _png(posters.shop_poster(distributor, url=url), f"poster-{distributor.invite_code}.png")
