"""The shop a served benchmark sells from: a catalog with stock, signed-in shoppers.

Written straight into the throw-away database: products and variants in bulk,
stock through catalog.inventory (so the movements are real), and shoppers with
a default address whose sessions are written server-side as a login leaves them
(no password hashing, no login request).
"""

import uuid
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

from benchmarks._harness import progress

CATEGORIES = [
    ("白酒", "baijiu", ["酱香型", "浓香型", "清香型"]),
    ("葡萄酒", "wine", ["红葡萄酒", "白葡萄酒"]),
]
SIZES = (("500ml", "168.00"), ("500ml×6", "958.00"))
# Searches a shopper types: product numbers (a handful of hits each) and words.
SEARCHES = [f"基准酒 {n}" for n in range(10, 50)] + ["酱香", "Benchmark", "红葡萄酒", "醇厚"]


@dataclass
class Catalog:
    """What was seeded: the paths of each kind of page, and every variant with the
    path of its product (for shoppers who buy it)."""

    pages: dict[str, list[str]]
    variants: list[tuple[int, str]]


def seed_catalog(products: int, *, stock=100) -> Catalog:
    """``products`` products (two variants each) under five leaf categories.

    ``stock`` is every variant's stock, or a function of the variant's index
    (0, 1, ... in creation order) giving it.
    """
    from django.db import transaction

    from catalog import inventory
    from catalog.models import Category, Product, Variant
    from core.locks import lock_tree

    stock_of = stock if callable(stock) else (lambda _index: stock)
    leaves = []
    with transaction.atomic():
        lock_tree("categories")
        for n, (name, slug, children) in enumerate(CATEGORIES):
            root = Category.objects.create(name=name, slug=slug, name_en=slug.title())
            for m, child in enumerate(children):
                leaves.append(Category.objects.create(name=child, slug=f"{slug}-{m}", parent=root))
            progress(n + 1, len(CATEGORIES), "categories")
    made = Product.objects.bulk_create(
        Product(
            category=leaves[n % len(leaves)],
            name=f"基准酒 {n}",
            name_en=f"Benchmark liquor {n}",
            slug=f"bench-{n}",
            description="醇厚绵长，回味悠久。" * 8,
        )
        for n in range(products)
    )
    variants = Variant.objects.bulk_create(
        Variant(product=p, name=size, sku=f"B{p.pk}-{size}", price=Decimal(price))
        for p in made
        for size, price in SIZES
    )
    chunk, indexed = 200, list(enumerate(variants))
    for start in range(0, len(indexed), chunk):
        batch = indexed[start : start + chunk]
        inventory.move(
            [(v.pk, stock_of(index)) for index, v in batch if stock_of(index)],
            kind=inventory.Kind.RECEIVED,
            reason="benchmark stock",
        )
        progress(min(start + chunk, len(variants)), len(variants), "stock received")
    roots = [slug for _, slug, _ in CATEGORIES]
    paths = {p.pk: p.get_absolute_url() for p in made}
    return Catalog(
        pages={
            "bare": ["/__bare__/"],
            "home": ["/"],
            "category": [f"/c/{slug}/" for slug in roots] + [f"/c/{c.slug}/" for c in leaves],
            "search": [f"/search/?q={quote(text)}" for text in SEARCHES],
            "product": [paths[p.pk] for p in made[:200]],
        },
        variants=[(v.pk, paths[v.product_id]) for v in variants],
    )


def seed_shoppers(count: int, *, session=None) -> list[dict]:
    """``count`` shoppers, each with a default address and a signed-in session.

    The session is written server-side as a login would leave it (user id,
    backend, the password hash's HMAC), without hashing a password. The CSRF
    secret goes in the ``csrftoken`` cookie, and a form may post it as is
    (Django accepts the unmasked secret). ``session(shopper)`` may add keys to the
    session (a cart, a checkout token). Returns, per shopper: ``user``,
    ``address``, ``sessionid`` and ``csrftoken``.
    """
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.hashers import make_password
    from django.middleware.csrf import CSRF_ALLOWED_CHARS
    from django.utils.crypto import get_random_string

    from accounts.models import Address

    User = get_user_model()
    run = uuid.uuid4().hex[:6]
    users = User.objects.bulk_create(
        User(username=f"buyer-{run}-{n}", first_name="买家", password=make_password(None))
        for n in range(count)
    )
    addresses = Address.objects.bulk_create(
        Address(
            user=user,
            recipient_name="张三",
            phone="13800138000",
            province="上海市",
            city="上海市",
            district="浦东新区",
            detail=f"世纪大道 {n} 号",
            is_default=True,
        )
        for n, user in enumerate(users)
    )
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    shoppers = []
    for n, (user, address) in enumerate(zip(users, addresses, strict=True), start=1):
        shopper = {"user": user.pk, "address": address.pk}
        store = store_class()
        store[SESSION_KEY] = user._meta.pk.value_to_string(user)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        for key, value in (session(shopper) if session else {}).items():
            store[key] = value
        store.create()
        shopper["sessionid"] = store.session_key
        shopper["csrftoken"] = get_random_string(32, CSRF_ALLOWED_CHARS)
        shoppers.append(shopper)
        progress(n, count, "signed-in shoppers")
    return shoppers
