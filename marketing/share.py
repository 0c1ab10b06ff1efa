"""The distributor's share kit (分享赚): what sharing a product earns them, its link
with their referral code, and the posters (推广海报).

Reads only. The amount is what level 1 of the active plan pays the distributor on
one unit of the product's cheapest variant at today's price (the time-limited
price where one is in force), worked out by the same rules accrual applies
(commissions.rules), so the kit never promises what an order would not pay. A
coupon the buyer might use lowers the paid amount, hence "about".
"""

from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse

from catalog.models import Category, Product, Variant
from commissions.rules import Line, capped_amounts, level_amount, rules_for
from commissions.services import active_plan
from core.site import public_url
from distributors.models import Distributor

from . import pricing


@dataclass(frozen=True)
class Offer:
    """One unit of a product as a shopper buys it today."""

    variant: Variant  # the cheapest active variant at its current price
    price: Decimal  # what it costs now: the time-limited price, else the list price
    struck_price: Decimal | None  # shown struck through: the list price under a sale,
    # else the variant's compare-at price (划线价)


@dataclass(frozen=True)
class ShareKit:
    amount: Decimal | None  # the level-1 commission on one unit; None without a plan
    url: str  # the product's page with the distributor's referral code
    poster_url: str  # the product poster (PNG) to download


def active_distributor(user) -> Distributor | None:
    """The user's distributor record if it is active; no query for an anonymous visitor."""
    if not user.is_authenticated:
        return None
    distributor = Distributor.objects.filter(user=user, status=Distributor.Status.ACTIVE).first()
    if distributor is not None:
        distributor.user = user  # their name on a poster, without reading the user again
    return distributor


def offer_of(product: Product) -> Offer | None:
    """The product's cheapest active variant at its current price (two queries);
    None when no variant is on sale."""
    variants = list(Variant.objects.filter(product=product, is_active=True).order_by("pk"))
    if not variants:
        return None
    sales = pricing.sale_prices(variant.pk for variant in variants)

    def current(variant):
        return sales[variant.pk][0] if variant.pk in sales else variant.price

    variant = min(variants, key=lambda v: (current(v), v.pk))
    if variant.pk in sales:
        return Offer(variant, current(variant), variant.price)
    return Offer(variant, variant.price, variant.compare_at_price if variant.has_discount else None)


def _override_category_id(rules, category: Category) -> int | None:
    """The deepest category at or above `category` with an override (one query, none
    when the plan has no category overrides): what accrual finds for an order line."""
    if not rules.override_category_ids:
        return None
    return (
        Category.objects.filter(
            pk__in=rules.override_category_ids,
            tree_id=category.tree_id,
            lft__lte=category.lft,
            rght__gte=category.rght,
        )
        .order_by("-lft")
        .values_list("pk", flat=True)
        .first()
    )


def level_one_amount(distributor: Distributor, product: Product, price: Decimal, plan):
    """What level 1 of `plan` pays `distributor` on one unit of `product` sold at
    `price`: product and category overrides, their grade's rate, rounded down and
    capped, exactly as accrual computes it for a one-line order."""
    rules = rules_for(plan)
    line = Line(price, 1, product.pk, _override_category_id(rules, product.category))
    raw, _rule = level_amount(rules, 1, distributor.grade_id, price, [line])
    [amount] = capped_amounts([raw], price, rules.payout_cap)
    return amount


def product_link(distributor: Distributor, product: Product, *, request=None) -> str:
    """The product's page on the site's public address, carrying the referral code
    (distributors.middleware remembers it)."""
    query = urlencode({"ref": distributor.invite_code})
    return public_url(f"{product.get_absolute_url()}?{query}", request=request)


def shop_link(distributor: Distributor, *, request=None) -> str:
    """The shop's home through the distributor's invite link (/r/CODE/)."""
    return public_url(distributor.get_invite_path(), request=request)


def kit_for(user, product, *, request=None) -> ShareKit | None:
    """The share kit a distributor sees on `product`'s page (None for anyone else).

    No query for an anonymous visitor, one for a signed-in shopper; for an active
    distributor four more (plan, variants, sale prices; a fifth with category
    overrides), plus the plan's rules the first time a process reads them.
    """
    distributor = active_distributor(user)
    if distributor is None:
        return None
    amount = None
    plan = active_plan()
    if plan is not None:
        offer = offer_of(product)
        if offer is not None:
            amount = level_one_amount(distributor, product, offer.price, plan)
    return ShareKit(
        amount=amount,
        url=product_link(distributor, product, request=request),
        poster_url=reverse("marketing:product_poster", args=[product.slug]),
    )
