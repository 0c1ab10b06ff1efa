"""The visitor's own part of a product page: coupons they may claim for the product
and, for a distributor, the share kit (分享赚). The rest of the page is cached for
everyone (catalog.views); this part is rendered per request, in a few queries."""

from django.template.loader import render_to_string

from catalog.models import Product

from . import selectors, share


def product_offers_html(request, slug: str) -> str:
    product = Product.objects.visible().select_related("category").filter(slug=slug).first()
    if product is None:
        return ""
    context = {
        "product": product,
        "coupons": selectors.claimable_coupons(request.user, product=product),
        "share": share.kit_for(request.user, product, request=request),
    }
    return render_to_string("marketing/_product_offers.html", context, request)
