from django.shortcuts import render

from . import selectors
from .forms import ListingFilterForm


def home(request):
    return render(request, "catalog/home.html", selectors.home())


def category(request, slug):
    form = ListingFilterForm(request.GET)
    listing = selectors.category_listing(slug, form.filters(), _page_number(request))
    return render(request, "catalog/category.html", {**listing, "form": form})


def search(request):
    form = ListingFilterForm(request.GET, searching=True)
    filters = form.filters()
    page = selectors.search_listing(filters, _page_number(request)) if filters["q"] else None
    context = {"form": form, "query": filters["q"], "search_query": filters["q"], "page": page}
    return render(request, "catalog/search.html", context)


def product(request, slug):
    return render(request, "catalog/product.html", selectors.product_page(slug))


def _page_number(request) -> int:
    """The requested page as a number (1 for anything else); the paginator clamps it."""
    number = request.GET.get("page", "")
    return int(number) if number.isdigit() and 0 < len(number) < 6 else 1
