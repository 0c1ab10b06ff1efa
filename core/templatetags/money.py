from django import template

from core.money import format_cny

register = template.Library()


@register.filter
def cny(value):
    """Render a Decimal amount as ¥1,299.00."""
    return format_cny(value)
