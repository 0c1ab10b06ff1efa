import hashlib
import math
import re
from urllib.parse import urlencode

from django.shortcuts import redirect, render
from django.template.backends.utils import csrf_input
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control

from marketing import offers

from . import cache as catalog_cache
from . import selectors
from .forms import ListingFilterForm

# Where _product_content.html's add-to-cart form takes the visitor's CSRF token.
CSRF_MARK = "<!--csrf-token-->"
# Where it takes the visitor's offers (coupons, a distributor's share kit).
OFFERS_MARK = "<!--product-offers-->"
# The query parameters a listing understands, in the order its filter form and page
# links write them; anything else (tracking tags, junk) is dropped by a redirect, so
# cached pages are keyed on these only and no client can mint keys at will.
LISTING_PARAMS = ("q", "min_price", "max_price", "in_stock", "sort", "page")
# A countdown in cached content counts to a moment (a Unix time), written
# data-countdown="until:<seconds since 1970>"; each request turns it into the seconds
# left now, which static/js/countdown.js counts down by the server's clock.
COUNTDOWN_UNTIL = re.compile(r'data-countdown="until:(\d+)"')


def home(request):
    return _cached_page(
        request,
        "catalog/_home_content.html",
        lambda now: ("", selectors.home(now=now)),
        params=(),
        tags=(catalog_cache.HOME,),
    )


def categories(request):
    """Every category (分类), the middle tab of the phone's tab bar."""
    return _cached_page(
        request,
        "catalog/_categories_content.html",
        lambda now: (_("Categories"), {"categories": selectors.category_index(now=now)}),
        params=(),
        tags=(catalog_cache.CATEGORIES,),
    )


@cache_control(max_age=86400, public=True)
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links: send them to the static one."""
    return redirect(static("img/favicon.ico"))


def category(request, slug):
    form = ListingFilterForm(request.GET)

    def build(now):
        listing = selectors.category_listing(slug, form.filters(), _page_number(request), now=now)
        return listing["category"].display_name, {**listing, "form": form}

    return _cached_page(
        request,
        "catalog/_category_content.html",
        build,
        params=LISTING_PARAMS,
        tags=(catalog_cache.category_tag(slug),),
        keep=lambda context: not form.errors and context["page"].number == _page_number(request),
    )


def search(request):
    form = ListingFilterForm(request.GET, searching=True)
    filters = form.filters()

    def build(now):
        page = (
            selectors.search_listing(filters, _page_number(request), now=now)
            if filters["q"]
            else None
        )
        title = f"{filters['q']} · {_('Search')}" if filters["q"] else _("Search")
        return title, {"form": form, "query": filters["q"], "page": page}

    return _cached_page(
        request,
        "catalog/_search_content.html",
        build,
        params=LISTING_PARAMS,
        tags=(catalog_cache.SEARCH,),
        keep=lambda context: (
            not form.errors
            and (context["page"] is None or context["page"].number == _page_number(request))
        ),
        search_query=filters["q"],
    )


def product(request, slug):
    def build(now):
        page = selectors.product_page(slug, now=now)
        return page["product"].display_name, page

    return _cached_page(
        request,
        "catalog/_product_content.html",
        build,
        params=(),
        tags=(catalog_cache.product_tag(slug),),
        # what this visitor may claim or share, rendered fresh into the cached page
        marks={OFFERS_MARK: lambda: offers.product_offers_html(request, slug)},
    )


def _cached_page(request, content_template, build, *, params, tags, keep=None, marks=None, **extra):
    """A catalog page whose content HTML is cached per cache scope (the next price
    change: selectors.cache_scope), language and URL, while what it shows (``tags``
    and those of the reads it is built from: catalog.cache) is unchanged.

    The content shows the catalog only (never the visitor: the header with the
    cart and the user menu is rendered fresh around it, and the visitor's CSRF
    token replaces CSRF_MARK), so one rendering serves every shopper until the
    catalog changes or a time-limited price starts or ends; ``build(now)`` returns
    the title and the content's context with the prices at ``now`` (this request's
    moment, the one the key is for) and may raise Http404. A URL with parameters
    outside ``params`` (or one twice) is redirected to the one without them, and the
    key is built from ``params`` in their order, so it holds only what the page
    understands; ``keep(context)`` false (a filter with bad input, a page number past
    the last) serves the page without storing it. ``marks`` maps a marker in the
    content to a callable giving the visitor's HTML put there.
    Countdowns (COUNTDOWN_UNTIL) get the seconds left at this request.
    """
    now = timezone.now()
    pairs = [(name, request.GET.getlist(name)[0]) for name in params if name in request.GET]
    query = urlencode(pairs)
    if len(pairs) != sum(len(values) for _name, values in request.GET.lists()):
        return redirect(f"{request.path}?{query}" if query else request.path)
    # Keyed on the query as we write it, not as it came (%41 and A are one page).
    url = hashlib.sha1(f"{request.path}?{query}".encode(), usedforsecurity=False).hexdigest()
    scope, timeout = selectors.cache_scope(now)
    key = f"catalog:html:{scope}:{get_language() or ''}:{url}"
    kept = True

    def render_page():
        nonlocal kept
        title, context = build(now)
        kept = keep is None or keep(context)
        return {"title": title, "content": render_to_string(content_template, context, request)}

    page = catalog_cache.cached(
        key, render_page, tags=tags, timeout=timeout, keep=lambda _page: kept
    )
    if not kept:
        query = ""  # nor does the anonymous header keep one for it
    # the anonymous header is cached under, and links back to, this page's own query
    # (core.context_processors.canonical_path)
    request.canonical_query = query
    content, countdowns = COUNTDOWN_UNTIL.subn(
        lambda found: f'data-countdown="{_seconds_until(int(found[1]), now)}"', page["content"]
    )
    content = content.replace(CSRF_MARK, str(csrf_input(request)))
    for mark, render_part in (marks or {}).items():
        if mark in content:
            content = content.replace(mark, render_part())
    context = {
        "title": page["title"],
        "content": mark_safe(content),  # noqa: S308
        "countdowns": countdowns,
        **extra,
    }
    return render(request, "catalog/cached_page.html", context)


def _seconds_until(timestamp: int, now) -> int:
    return max(0, math.ceil(timestamp - now.timestamp()))


def _page_number(request) -> int:
    """The requested page as a number (1 for anything else); the paginator clamps it."""
    number = request.GET.get("page", "")
    return int(number) if number.isdigit() and 0 < len(number) < 6 else 1
