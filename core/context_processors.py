from django.conf import settings
from django.urls import translate_url
from django.utils.translation import get_language, get_language_info


def language_links(request):
    """Links to this page in the other languages, for the header's switch.

    Plain links (/p/x/ <-> /en/p/x/): the language is in the URL, so switching
    needs no form, no CSRF token and no cookie, and the header stays cacheable.
    Computed only when a template asks (a callable), which a cached header does not.
    """

    def links():
        here = request.get_full_path()
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

    return {"language_links": links}
