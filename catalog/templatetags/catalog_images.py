from django import template
from django.core.files.storage import default_storage

from catalog.images import thumbnail_name

register = template.Library()


@register.filter
def thumb(name, size=400):
    """The URL of a stored image's thumbnail, from its file name (a card's ``cover``)."""
    if not name:
        return ""
    return default_storage.url(thumbnail_name(str(name), int(size)))
