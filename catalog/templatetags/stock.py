"""How the storefront speaks of stock: ``{% load stock %}{% if n|low_stock %}``."""

from django import template

from catalog.models import STOCK_SHOWN_UP_TO

register = template.Library()


@register.filter
def low_stock(stock) -> bool:
    """In stock, and few enough that pages say how many are left ("only 3 left"): the
    one band in which a sale changes what a cached page says (catalog.invalidation)."""
    return bool(stock) and stock <= STOCK_SHOWN_UP_TO
