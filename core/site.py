"""The site's public address, for links and callbacks that leave the request."""

from django.conf import settings
from django.utils.translation import gettext as _


def public_url(path: str, *, base: str = "", request=None) -> str:
    """`path` on the site's public address: `base` (else SITE_URL).

    The request's own host only while DEBUG is on and no address is set (a
    developer's LAN address): in production the Host header is the client's to
    write, and a callback URL built from it would send a gateway's (or our own
    sandbox worker's) signed posts wherever a shopper liked.
    """
    if settings.DEBUG and request is not None and not base:
        return request.build_absolute_uri(path)
    return (base or settings.SITE_URL).rstrip("/") + path


def shop_name() -> str:
    """The shop's name in the reader's language (storefront, admin header, posters)."""
    # Translators: the shop's name; in Chinese 醉香商城
    return _("Zuixiang Mall")
