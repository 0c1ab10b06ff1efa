"""The price of a cart (计价): time-limited prices, one coupon and gifts, to the fen.

The arithmetic is pure (`allocate`, `coupon_discount`, `price`): property tests
run it over random carts with no database. `quote` reads what it needs (sale
prices, the shopper's coupons, gift rules) in a fixed number of queries and
calls it; the checkout page shows a quote and `orders.services.place_order`
makes the same one again under its row locks, so what the shopper saw is what
the order keeps.

Each line keeps its list price, its share of the time-limited discount (the
list price less the sale price, times the quantity), its share of the coupon
(spread over the lines the coupon covers, in proportion to what they cost after
the sale price: `allocate`) and what is left, its paid amount.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ServiceError
from core.money import CENT, ZERO, format_cny, to_cents

from .models import Coupon, CouponClaim, GiftRule, TimedDiscountItem

BEST = "best"  # quote's `coupon`: choose the shopper's best usable coupon


class CouponError(ServiceError):
    """A coupon that cannot be used on this order; str() says why."""


def allocate(amount: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Spread `amount` over lines in proportion to `weights` (what each line costs), to the fen.

    Each share is rounded down; the fen left over go on the largest line (the
    first of equal ones), or on the next largest where that line is full. The
    shares add up to `amount` exactly, and none is above its line's weight
    (`amount` is at most the sum of the weights).
    """
    total = sum(weights, ZERO)
    if amount <= 0 or total <= 0:
        return [ZERO for _weight in weights]
    if amount > total:
        raise ValueError(f"cannot spread {amount} over lines worth {total}")
    shares = [to_cents(amount * weight / total) for weight in weights]
    left = amount - sum(shares, ZERO)
    for index in sorted(range(len(weights)), key=lambda i: (-weights[i], i)):
        if left <= 0:
            break
        step = min(weights[index] - shares[index], left)
        shares[index] += step
        left -= step
    return shares


@dataclass(frozen=True)
class CouponRule:
    """What pricing needs of a coupon template (no query once built)."""

    kind: str
    amount: Decimal | None
    threshold: Decimal
    percent_off: Decimal | None
    max_discount: Decimal | None
    scope: str
    product_ids: frozenset[int] = frozenset()
    # (tree_id, lft, rght) of the categories it covers, with everything below them
    category_ranges: tuple[tuple[int, int, int], ...] = ()

    @classmethod
    def of(cls, coupon: Coupon) -> "CouponRule":
        """From a coupon whose `products` and `categories` are prefetched (or not needed)."""
        return cls(
            kind=coupon.kind,
            amount=coupon.amount,
            threshold=coupon.threshold,
            percent_off=coupon.percent_off,
            max_discount=coupon.max_discount,
            scope=coupon.scope,
            product_ids=(
                frozenset(p.pk for p in coupon.products.all())
                if coupon.scope == Coupon.Scope.PRODUCTS
                else frozenset()
            ),
            category_ranges=(
                tuple((c.tree_id, c.lft, c.rght) for c in coupon.categories.all())
                if coupon.scope == Coupon.Scope.CATEGORIES
                else ()
            ),
        )

    def covers(self, item: "Item") -> bool:
        if self.scope == Coupon.Scope.PRODUCTS:
            return item.product_id in self.product_ids
        if self.scope == Coupon.Scope.CATEGORIES:
            tree, lft, _rght = item.category
            return any(t == tree and lo <= lft <= hi for t, lo, hi in self.category_ranges)
        return True


def coupon_discount(rule: CouponRule, eligible: Decimal) -> Decimal:
    """What `rule` takes off goods in scope worth `eligible` (0.00: it does not apply)."""
    if eligible <= 0 or eligible < rule.threshold:
        return ZERO
    if rule.kind == Coupon.Kind.PERCENT_OFF:
        discount = to_cents(eligible * rule.percent_off / 100)
        if rule.max_discount is not None:
            discount = min(discount, rule.max_discount)
    else:
        discount = rule.amount or ZERO
    return min(discount, eligible)


@dataclass(frozen=True)
class Item:
    """One cart line as pricing sees it."""

    variant_id: int
    product_id: int
    category: tuple[int, int, int]  # the product's category: (tree_id, lft, rght)
    quantity: int
    list_price: Decimal
    sale_price: Decimal | None = None  # a time-limited price in force, below the list price
    sale_ends_at: datetime | None = None

    @property
    def unit_price(self) -> Decimal:
        return self.sale_price if self.sale_price is not None else self.list_price

    @property
    def list_total(self) -> Decimal:
        return to_cents(self.list_price * self.quantity)

    @property
    def sale_total(self) -> Decimal:
        return to_cents(self.unit_price * self.quantity)


@dataclass
class PricedLine:
    variant_id: int
    quantity: int
    unit_price: Decimal  # the list price
    line_total: Decimal  # list price x quantity
    sale_discount: Decimal = ZERO
    coupon_discount: Decimal = ZERO
    is_gift: bool = False
    sale_ends_at: datetime | None = None

    @property
    def paid_amount(self) -> Decimal:
        return self.line_total - self.sale_discount - self.coupon_discount

    @property
    def unit_sale_price(self) -> Decimal:
        return self.unit_price - self.sale_discount / self.quantity


@dataclass
class CouponOption:
    """One of the shopper's coupons at checkout: what it would take off, or why not."""

    claim: CouponClaim
    discount: Decimal
    reason: str = ""  # empty: usable on this order

    @property
    def usable(self) -> bool:
        return not self.reason


@dataclass
class Gift:
    rule: GiftRule
    available: bool  # False: out of stock, the order goes without it


@dataclass
class Quote:
    lines: list[PricedLine]
    options: list[CouponOption] = field(default_factory=list)
    chosen: CouponOption | None = None
    gifts: list[Gift] = field(default_factory=list)

    @property
    def goods_lines(self) -> list[PricedLine]:
        return [line for line in self.lines if not line.is_gift]

    @property
    def list_total(self) -> Decimal:
        return sum((line.line_total for line in self.lines), ZERO)

    @property
    def sale_discount(self) -> Decimal:
        return sum((line.sale_discount for line in self.lines), ZERO)

    @property
    def coupon_discount(self) -> Decimal:
        return sum((line.coupon_discount for line in self.lines), ZERO)

    @property
    def subtotal(self) -> Decimal:
        """What the goods cost after every discount."""
        return sum((line.paid_amount for line in self.lines), ZERO)

    @property
    def usable_options(self) -> list[CouponOption]:
        return [option for option in self.options if option.usable]

    @property
    def missed_gifts(self) -> list[GiftRule]:
        return [gift.rule for gift in self.gifts if not gift.available]


def _reason(rule: CouponRule, claim: CouponClaim, eligible: Decimal, now: datetime) -> str:
    if claim.order_id is not None:
        return _("This coupon was already used.")
    if claim.valid_until <= now:
        return _("This coupon has expired.")
    if claim.valid_from > now:
        return _("This coupon can be used from %(date)s.") % {
            "date": timezone.localtime(claim.valid_from).strftime("%Y-%m-%d %H:%M")
        }
    if eligible <= 0:
        return _("No item in this order is covered by this coupon.")
    if eligible < rule.threshold:
        return _("Add %(amount)s more of the goods it covers to use it.") % {
            "amount": format_cny(rule.threshold - eligible)
        }
    return ""


def price(
    items: list[Item],
    *,
    claims: list[tuple[CouponClaim, CouponRule]] = (),
    coupon: int | str | None = BEST,
    gift_rules: list[GiftRule] = (),
    gift_stock: dict[int, int] | None = None,
    now: datetime | None = None,
) -> Quote:
    """Price `items` with the chosen coupon (a claim id, BEST or None) and the gifts.

    Pure: no query. A coupon id that is not among `claims` or cannot be used
    raises CouponError with the reason. BEST takes the usable coupon that takes
    off most (the one that expires first of equal ones). The goods never cost
    less than 0.01 in all: a coupon worth more takes off the rest but one fen.
    `gift_stock` maps gift variant ids to what is in stock for gifts (after
    the cart's own lines); a rule reached without stock is listed, not given.
    """
    now = now or timezone.now()
    lines = [
        PricedLine(
            variant_id=item.variant_id,
            quantity=item.quantity,
            unit_price=item.list_price,
            line_total=item.list_total,
            sale_discount=item.list_total - item.sale_total,
            sale_ends_at=item.sale_ends_at,
        )
        for item in items
    ]
    after_sale = sum((item.sale_total for item in items), ZERO)
    options = []
    for claim, rule in claims:
        covered = [item.sale_total if rule.covers(item) else ZERO for item in items]
        eligible = sum(covered, ZERO)
        reason = _reason(rule, claim, eligible, now)
        discount = ZERO if reason else coupon_discount(rule, eligible)
        discount = max(min(discount, after_sale - CENT), ZERO)
        if not reason and discount <= 0:
            reason = _("This coupon takes nothing off this order.")
        options.append(CouponOption(claim, discount if not reason else ZERO, reason))
    chosen = _choose(options, coupon)
    if chosen is not None:
        rule = {c.pk: r for c, r in claims}[chosen.claim.pk]
        covered = [item.sale_total if rule.covers(item) else ZERO for item in items]
        for line, share in zip(lines, allocate(chosen.discount, covered), strict=True):
            line.coupon_discount = share
    quote = Quote(lines=lines, options=options, chosen=chosen)
    subtotal = quote.subtotal
    stock = dict(gift_stock or {})
    for rule in gift_rules:
        if subtotal < rule.threshold:
            continue
        available = stock.get(rule.gift_id, 0) >= rule.quantity
        if available:
            stock[rule.gift_id] -= rule.quantity
            lines.append(
                PricedLine(
                    variant_id=rule.gift_id,
                    quantity=rule.quantity,
                    unit_price=ZERO,
                    line_total=ZERO,
                    is_gift=True,
                )
            )
        quote.gifts.append(Gift(rule, available))
    return quote


def _choose(options: list[CouponOption], coupon) -> CouponOption | None:
    if coupon is None or coupon == "":
        return None
    if coupon == BEST:
        usable = [option for option in options if option.usable]
        if not usable:
            return None
        return max(
            usable, key=lambda o: (o.discount, -o.claim.valid_until.timestamp(), -o.claim.pk)
        )
    try:
        claim_id = int(coupon)
    except (TypeError, ValueError):
        raise CouponError(_("This coupon is not yours.")) from None
    for option in options:
        if option.claim.pk == claim_id:
            if not option.usable:
                raise CouponError(option.reason)
            return option
    raise CouponError(_("This coupon is not yours."))


# Reads -------------------------------------------------------------------------


def sale_prices(variant_ids, *, at: datetime | None = None) -> dict[int, tuple[Decimal, datetime]]:
    """The time-limited price in force at `at` of each of `variant_ids` that has one
    (below its list price; the lowest where discounts overlap), with when it ends. One query."""
    at = at or timezone.now()
    rows = (
        TimedDiscountItem.objects.filter(
            variant_id__in=list(variant_ids),
            discount__is_active=True,
            discount__starts_at__lte=at,
            discount__ends_at__gt=at,
            price__lt=F("variant__price"),
        )
        .order_by("variant_id", "price", "discount__ends_at")
        .values_list("variant_id", "price", "discount__ends_at")
    )
    prices: dict[int, tuple[Decimal, datetime]] = {}
    for variant_id, sale, ends_at in rows:
        prices.setdefault(variant_id, (sale, ends_at))
    return prices


def gift_rules_at(at: datetime | None = None) -> list[GiftRule]:
    """The gift rules in force, lowest threshold first, with their gift variant. One query."""
    at = at or timezone.now()
    return list(
        GiftRule.objects.filter(is_active=True, starts_at__lte=at)
        .exclude(ends_at__lte=at)
        .select_related("gift__product")
        .order_by("threshold", "pk")
    )


def claims_of(user, *, at: datetime | None = None) -> list[tuple[CouponClaim, CouponRule]]:
    """The shopper's coupons not used and not expired, with their rules. Three queries."""
    at = at or timezone.now()
    claims = (
        CouponClaim.objects.filter(user=user, order=None, valid_until__gt=at)
        .select_related("coupon")
        .prefetch_related("coupon__products", "coupon__categories")
        .order_by("valid_until", "pk")
    )
    return [(claim, CouponRule.of(claim.coupon)) for claim in claims]


def _refuse_unheld(user, coupon, claims, at: datetime) -> None:
    """A chosen coupon that is not among the shopper's open ones: say why (one query,
    only then): used, expired, or not theirs at all."""
    try:
        claim_id = int(coupon)
    except (TypeError, ValueError):
        raise CouponError(_("This coupon is not yours.")) from None
    if any(claim.pk == claim_id for claim, _rule in claims):
        return
    claim = (
        CouponClaim.objects.filter(pk=claim_id, user=user).first()
        if user.is_authenticated
        else None
    )
    if claim is None:
        raise CouponError(_("This coupon is not yours."))
    if claim.order_id is not None:
        raise CouponError(_("This coupon was already used."))
    raise CouponError(_("This coupon has expired."))


def items_of(
    quantities: dict[int, int], variants: dict, *, at: datetime | None = None
) -> list[Item]:
    """Pricing's view of a cart: `variants` (id -> Variant with product and category
    loaded) and their time-limited prices (one query)."""
    sales = sale_prices(quantities, at=at)
    items = []
    for pk, quantity in sorted(quantities.items()):
        variant = variants[pk]
        category = variant.product.category
        sale, ends_at = sales.get(pk, (None, None))
        items.append(
            Item(
                variant_id=pk,
                product_id=variant.product_id,
                category=(category.tree_id, category.lft, category.rght),
                quantity=quantity,
                list_price=variant.price,
                sale_price=sale,
                sale_ends_at=ends_at,
            )
        )
    return items


def gift_stock_of(
    rules: list[GiftRule], quantities: dict[int, int], stock: dict[int, int]
) -> dict[int, int]:
    """What each gift variant has in stock for gifts: its stock (`stock`, read by the
    caller, under lock when placing) less what the cart itself takes; none if it is
    not for sale any more."""
    gift_stock = {}
    for rule in rules:
        if not rule.gift.is_purchasable:
            gift_stock[rule.gift_id] = 0
            continue
        gift_stock[rule.gift_id] = max(
            stock.get(rule.gift_id, 0) - quantities.get(rule.gift_id, 0), 0
        )
    return gift_stock


def quote(
    user,
    quantities: dict[int, int],
    variants: dict,
    *,
    coupon: int | str | None = BEST,
    gift_rules: list[GiftRule] | None = None,
    stock: dict[int, int] | None = None,
    at: datetime | None = None,
) -> Quote:
    """The quote of a cart for `user` now: sale prices, their coupons (none for a
    visitor, or with `coupon` None), the gifts. `stock` maps variant ids to their
    stock (default: as loaded on the variants and gift rules). At most six queries."""
    at = at or timezone.now()
    if gift_rules is None:
        gift_rules = gift_rules_at(at)
    if stock is None:
        stock = {rule.gift_id: rule.gift.stock for rule in gift_rules}
    if coupon == "":
        coupon = None  # the shopper chose no coupon
    claims = claims_of(user, at=at) if coupon is not None and user.is_authenticated else []
    if coupon not in (None, BEST):
        _refuse_unheld(user, coupon, claims, at)
    return price(
        items_of(quantities, variants, at=at),
        claims=claims,
        coupon=coupon,
        gift_rules=gift_rules,
        gift_stock=gift_stock_of(gift_rules, quantities, stock),
        now=at,
    )
