from django.utils.functional import SimpleLazyObject

from . import selectors


def unread_counts(request):
    """``unread``: the header's unread counts (messages, support, total), read in one
    query the first time a template asks, and never for an anonymous visitor."""

    def counts():
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return selectors.UnreadCounts()
        return selectors.unread_counts(user)

    return {"unread": SimpleLazyObject(counts)}
