from django.core.paginator import Paginator
from django.shortcuts import render

from . import selectors

PAGE_SIZE = 24


def home(request):
    return render(
        request,
        "catalog/home.html",
        {
            "categories": selectors.root_categories(),
            "products": selectors.featured_products(),
        },
    )


def category(request, slug):
    category, products = selectors.category_with_products(slug)
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "catalog/category.html",
        {
            "category": category,
            "ancestors": category.get_ancestors(),
            "children": category.get_children().filter(is_active=True),
            "page": page,
        },
    )


def product(request, slug):
    product = selectors.product_detail(slug)
    return render(
        request,
        "catalog/product.html",
        {"product": product, "variants": list(product.variants.all())},
    )
