from decimal import Decimal

from django import template

from core.money import format_cny

register = template.Library()


@register.filter
def cny(value):
    """Render a Decimal amount as ¥1,299.00."""
    return format_cny(value)


@register.filter
def percent(rate):
    """A Decimal fraction as a percentage: 0.1000 -> 10%, 0.0250 -> 2.5%."""
    if rate is None:
        return ""
    value = (Decimal(rate) * 100).normalize()
    return f"{value:f}%"
