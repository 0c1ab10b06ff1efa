from django.conf import settings
from django.urls import translate_url
from django.utils.translation import get_language, get_language_info


def canonical_path(request) -> str:
    """This page's path, with its query string only where the view vouched that the
    query holds nothing but the parameters the page understands (catalog views).

    The anonymous header is cached under this and links to it (sign in, the other
    language), so junk parameters can neither add cache keys nor ride along in it.
    """
    query = getattr(request, "canonical_query", "")
    return f"{request.path}?{query}" if query else request.path


def language_links(request):
    """Links to this page in the other languages, for the header's switch.

    Plain links (/p/x/ <-> /en/p/x/): the language is in the URL, so switching
    needs no form, no CSRF token and no cookie, and the header stays cacheable.
    Computed only when a template asks (a callable), which a cached header does not.
    """

    def links():
        here = request.get_full_path() if request.user.is_authenticated else canonical_path(request)
        current = get_language()
        return [
            {
                "code": code,
                "name": get_language_info(code)["name_local"],
                "url": translate_url(here, code),
            }
            for code, _name in settings.LANGUAGES
            if code != current
        ]

    return {"language_links": links, "canonical_path": lambda: canonical_path(request)}
