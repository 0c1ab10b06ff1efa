import hashlib

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render
from django.template.backends.utils import csrf_input
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from . import selectors
from .cache import catalog_version
from .forms import ListingFilterForm

# Where _product_content.html's add-to-cart form takes the visitor's CSRF token.
CSRF_MARK = "<!--csrf-token-->"


def home(request):
    return _cached_page(request, "catalog/_home_content.html", lambda: ("", selectors.home()))


def category(request, slug):
    form = ListingFilterForm(request.GET)

    def build():
        listing = selectors.category_listing(slug, form.filters(), _page_number(request))
        return listing["category"].display_name, {**listing, "form": form}

    return _cached_page(request, "catalog/_category_content.html", build)


def search(request):
    form = ListingFilterForm(request.GET, searching=True)
    filters = form.filters()

    def build():
        page = selectors.search_listing(filters, _page_number(request)) if filters["q"] else None
        title = f"{filters['q']} · {_('Search')}" if filters["q"] else _("Search")
        return title, {"form": form, "query": filters["q"], "page": page}

    return _cached_page(request, "catalog/_search_content.html", build, search_query=filters["q"])


def product(request, slug):
    def build():
        page = selectors.product_page(slug)
        return page["product"].display_name, page

    return _cached_page(request, "catalog/_product_content.html", build)


def _cached_page(request, content_template, build, **extra):
    """A catalog page whose content HTML is cached per catalog version, language and URL.

    The content shows the catalog only (never the visitor: the header with the
    cart and the user menu is rendered fresh around it, and the visitor's CSRF
    token replaces CSRF_MARK), so one rendering serves every shopper until the
    catalog changes; ``build()`` returns the title and the content's context and
    may raise Http404.
    """
    url = hashlib.sha1(request.get_full_path().encode(), usedforsecurity=False).hexdigest()
    key = f"catalog:html:{catalog_version()}:{get_language() or ''}:{url}"
    page = cache.get(key)
    if page is None:
        title, context = build()
        page = {"title": title, "content": render_to_string(content_template, context, request)}
        cache.set(key, page, settings.CATALOG_CACHE_SECONDS)
    content = page["content"].replace(CSRF_MARK, str(csrf_input(request)))
    context = {"title": page["title"], "content": mark_safe(content), **extra}  # noqa: S308
    return render(request, "catalog/cached_page.html", context)


def _page_number(request) -> int:
    """The requested page as a number (1 for anything else); the paginator clamps it."""
    number = request.GET.get("page", "")
    return int(number) if number.isdigit() and 0 < len(number) < 6 else 1
