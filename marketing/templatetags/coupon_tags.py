"""How a coupon reads on the storefront: its face value (¥20, 8.5折), its condition
(满100可用, 无门槛), what it covers and how long it is valid.

Scope names read the coupon's `categories` and `products`: prefetch them
(marketing.selectors.coupon_centre, claims_in_tab) or each card asks again.
"""

from decimal import Decimal

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, ngettext, pgettext
from django.utils.translation import gettext as _

from marketing.models import Coupon

register = template.Library()

SCOPE_NAMES_SHOWN = 3


def plain(amount: Decimal) -> str:
    """An amount as a price tag shows it: 20.00 -> 20, 19.90 -> 19.9."""
    return f"{amount.normalize():f}"


@register.filter
def face_value(coupon: Coupon) -> str:
    """What the coupon is worth, big on its card: ¥20, or 8.5折 (15% off in English)."""
    if coupon.kind == Coupon.Kind.PERCENT_OFF:
        if (get_language() or "").startswith("zh"):
            # Chinese names what is paid, in tenths of the price: 15% off is 8.5折.
            tenths = plain((Decimal(100) - coupon.percent_off) / 10)
            # Translators: a percentage coupon's face value in tenths of the price
            # paid; in Chinese %(tenths)s折 (8.5折 for 15% off)
            return pgettext("coupon face value", "%(tenths)s tenths") % {"tenths": tenths}
        return _("%(percent)s%% off") % {"percent": plain(coupon.percent_off)}
    return f"¥{plain(coupon.amount or Decimal(0))}"


@register.filter
def condition(coupon: Coupon) -> str:
    """When it can be used: 满100可用 / 无门槛, and a percentage coupon's largest discount."""
    if coupon.threshold > 0:
        # Translators: in Chinese 满%(amount)s可用
        text = _("On ¥%(amount)s or more") % {"amount": plain(coupon.threshold)}
    else:
        # Translators: a coupon usable on any order, in Chinese 无门槛
        text = _("No minimum")
    if coupon.kind == Coupon.Kind.PERCENT_OFF and coupon.max_discount:
        # Translators: in Chinese 最高减%(amount)s元
        most = _("up to ¥%(amount)s off") % {"amount": plain(coupon.max_discount)}
        text = f"{text} · {most}"
    return text


@register.filter
def scope_text(coupon: Coupon) -> str:
    """What it covers: the whole shop (全场通用), or only some categories or products."""
    if coupon.scope == Coupon.Scope.ALL:
        # Translators: a coupon for the whole shop, in Chinese 全场通用
        return _("Whole shop")
    items = coupon.categories.all() if coupon.scope == Coupon.Scope.CATEGORIES else None
    if items is None:
        items = coupon.products.all()
    names = [item.display_name for item in items]
    # Translators: between names in a list, in Chinese 、
    shown = pgettext("list separator", ", ").join(names[:SCOPE_NAMES_SHOWN])
    if len(names) > SCOPE_NAMES_SHOWN:
        # Translators: in Chinese 仅限%(names)s等%(count)d项
        return _("Only %(names)s and %(count)d more") % {
            "names": shown,
            "count": len(names) - SCOPE_NAMES_SHOWN,
        }
    # Translators: in Chinese 仅限%(names)s
    return _("Only %(names)s") % {"names": shown}


def _day(moment) -> str:
    return timezone.localtime(moment).strftime("%Y.%m.%d")


@register.filter
def validity_text(coupon: Coupon) -> str:
    """How long the coupon centre's coupon is valid: its dates, or N days once claimed."""
    if coupon.validity == Coupon.Validity.AFTER_CLAIM:
        days = coupon.valid_days or 0
        return ngettext(
            "Valid for %(days)d day after claiming",
            "Valid for %(days)d days after claiming",
            days,
        ) % {"days": days}
    return f"{_day(coupon.valid_from)} – {_day(coupon.valid_until)}"


@register.filter
def claim_validity(claim) -> str:
    """How long a held coupon is valid (from a later day, or until when)."""
    if claim.valid_from > timezone.now():
        return _("Valid %(start)s – %(end)s") % {
            "start": _day(claim.valid_from),
            "end": _day(claim.valid_until),
        }
    return _("Valid until %(end)s") % {
        "end": timezone.localtime(claim.valid_until).strftime("%Y.%m.%d %H:%M")
    }


@register.filter
def use_url(coupon: Coupon) -> str:
    """Where to shop with the coupon: its one category or product, else the home page."""
    if coupon.scope == Coupon.Scope.CATEGORIES:
        categories = list(coupon.categories.all())
        if len(categories) == 1:
            return categories[0].get_absolute_url()
    elif coupon.scope == Coupon.Scope.PRODUCTS:
        products = list(coupon.products.all())
        if len(products) == 1:
            return products[0].get_absolute_url()
    return reverse("catalog:home")
