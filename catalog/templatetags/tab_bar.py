"""The phone's tab bar (templates/_tab_bar.html): which of its tabs this page is under."""

from django import template

register = template.Library()

# (namespace, url name) of a page -> its tab; else the namespace's tab, if any
PAGE_TABS = {
    ("catalog", "home"): "home",
    ("catalog", "categories"): "categories",
    ("catalog", "category"): "categories",
    ("orders", "cart"): "cart",
    ("orders", "checkout"): "cart",
}
SECTION_TABS = {
    "orders": "me",
    "accounts": "me",
    "distributors": "me",
    "commissions": "me",
    "marketing": "me",  # my coupons, the coupon centre, a distributor's boards and posters
    "notifications": "me",  # the message centre and the notification settings
    "support": "me",  # my conversations with customer service
}


@register.simple_tag(takes_context=True)
def current_tab(context) -> str:
    """The tab this page is under: home, categories, cart, me, or "" for none."""
    match = getattr(context.get("request"), "resolver_match", None)
    if match is None:  # an error page
        return ""
    return PAGE_TABS.get((match.namespace, match.url_name)) or SECTION_TABS.get(match.namespace, "")
