from django import template

from core.money import format_cny, format_percent

register = template.Library()


@register.filter
def cny(value):
    """Render a Decimal amount as ¥1,299.00."""
    return format_cny(value)


@register.filter
def percent(rate):
    """A Decimal fraction as a percentage: 0.1000 -> 10%, 0.0250 -> 2.5%."""
    return format_percent(rate)
