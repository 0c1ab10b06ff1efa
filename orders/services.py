"""Writes of the order pipeline: placing, paying, shipping, completing, closing.

Every service locks the order row before it changes the status, so a status
moves once whatever the number of concurrent callers; stock rows are locked in
primary-key order so concurrent checkouts cannot deadlock.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import inventory
from catalog.models import Variant
from commissions import services as commission_services
from core.money import to_cents
from distributors import services as distributor_services
from distributors.selectors import referral_chain_ids

from .models import Order, OrderEvent, OrderLine, ShippingSettings, new_order_number


class OrderError(Exception):
    """A request the order pipeline refuses; str() is a message for people."""


class EmptyCart(OrderError):
    pass


class VariantUnavailable(OrderError):
    pass


class OutOfStock(OrderError):
    def __init__(self, variant: Variant, available: int):
        self.variant = variant
        self.available = available
        super().__init__(
            _("Only %(count)d left of %(name)s.") % {"count": available, "name": str(variant)}
            if available
            else _("%(name)s is out of stock.") % {"name": str(variant)}
        )


class InvalidTransition(OrderError):
    def __init__(self, order: Order, to_status: str):
        super().__init__(
            _("Order %(number)s is %(status)s and cannot become %(to)s.")
            % {
                "number": order.number,
                "status": order.get_status_display(),
                "to": Order.Status(to_status).label,
            }
        )


@dataclass(frozen=True)
class ShippingAddress:
    recipient_name: str
    recipient_phone: str
    address: str

    @classmethod
    def of(cls, address) -> "ShippingAddress":
        """The parcel label of an address-book entry (accounts.Address)."""
        return cls(address.recipient_name, address.phone, address.one_line)


def shipping_fee_for(subtotal: Decimal, rules: ShippingSettings | None = None) -> Decimal:
    """The shipping fee for a goods total, by the admin's ShippingSettings (one query
    unless the caller passes the `rules` it already read)."""
    return (rules or ShippingSettings.get_solo()).fee_for(subtotal)


@transaction.atomic
def place_order(
    user,
    lines: list[tuple[int, int]],
    *,
    address: ShippingAddress,
    note: str = "",
    referral_code: str = "",
    checkout_token: uuid.UUID | None = None,
    shipping_rules: ShippingSettings | None = None,
) -> Order:
    """Create a pending order from (variant id, quantity) pairs.

    Prices come from the database, never from the request. Stock is taken
    under row locks in primary-key order and by a conditional update, so it
    never goes below zero. Replaying the same checkout token returns the
    order it already made instead of a second one.
    """
    if checkout_token is not None:
        existing = Order.objects.filter(checkout_token=checkout_token, user=user).first()
        if existing is not None:
            return existing
    quantities: dict[int, int] = {}
    for variant_id, quantity in lines:
        if quantity < 1:
            raise OrderError(_("Quantities must be at least 1."))
        quantities[variant_id] = quantities.get(variant_id, 0) + quantity
    if not quantities:
        raise EmptyCart(_("Your cart is empty."))

    variants = (
        Variant.objects.select_for_update(of=("self",))
        .select_related("product")
        .filter(pk__in=quantities)
        .order_by("pk")
    )
    variants = {variant.pk: variant for variant in variants}
    for variant_id in sorted(quantities):
        variant = variants.get(variant_id)
        if variant is None or not variant.is_purchasable:
            raise VariantUnavailable(_("A product in your cart is no longer available."))
    number = new_order_number()
    try:
        inventory.sell(quantities.items(), reference=number, actor=user)
    except inventory.InsufficientStock as short:
        raise OutOfStock(variants[short.variant_id], short.available) from None

    subtotal = to_cents(sum(variants[pk].price * qty for pk, qty in quantities.items()))
    shipping = shipping_fee_for(subtotal, shipping_rules)
    # The customer binding (推广关系) decides; self-purchase (自购返佣) as the plan says.
    plan = commission_services.active_plan()
    distributor = distributor_services.resolve_attribution(
        user, referral_code, allow_self_purchase=bool(plan and plan.allows_self_purchase)
    )
    order = Order(
        number=number,
        user=user,
        subtotal=subtotal,
        shipping_fee=shipping,
        total=subtotal + shipping,
        recipient_name=address.recipient_name,
        recipient_phone=address.recipient_phone,
        shipping_address=address.address,
        note=note,
        distributor=distributor,
        referral_chain=(
            referral_chain_ids(distributor.pk, depth=commission_services.CHAIN_REACH)
            if distributor
            else []
        ),
        checkout_token=checkout_token,
    )
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError:
        # The same checkout token raced us from a second request: that request's
        # order stands, and this transaction (with its stock) rolls back.
        raise OrderError(_("This checkout was already submitted.")) from None
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            variant=variants[pk],
            product_name=variants[pk].product.name,
            variant_name=variants[pk].name,
            sku=variants[pk].sku,
            unit_price=variants[pk].price,
            quantity=qty,
            line_total=to_cents(variants[pk].price * qty),
        )
        for pk, qty in sorted(quantities.items())
    )
    OrderEvent.objects.create(order=order, to_status=order.status, actor=user)
    return order


def _locked(order: Order) -> Order:
    return Order.objects.select_for_update().get(pk=order.pk)


def _transition(order: Order, to_status: str, *, actor=None, note: str = "") -> None:
    """Move a locked order to `to_status`, stamp the time and record the event."""
    if not order.can_become(to_status):
        raise InvalidTransition(order, to_status)
    now = timezone.now()
    stamp_field = {
        Order.Status.PAID: "paid_at",
        Order.Status.SHIPPED: "shipped_at",
        Order.Status.COMPLETED: "completed_at",
        Order.Status.CANCELLED: "closed_at",
        Order.Status.REFUNDED: "closed_at",
    }[to_status]
    from_status = order.status
    order.status = to_status
    setattr(order, stamp_field, now)
    order.save(update_fields=["status", stamp_field])
    OrderEvent.objects.create(
        order=order, from_status=from_status, to_status=to_status, actor=actor, note=note[:255]
    )


@transaction.atomic
def mark_paid(order: Order, *, note: str = "") -> Order:
    """Record that the money for `order` arrived; schedules commission accrual.

    Called by the payments app once per verified payment; a second call for an
    order already paid raises InvalidTransition and changes nothing.
    """
    order = _locked(order)
    _transition(order, Order.Status.PAID, note=note)
    # Commissions follow the plan version in force when the money arrived.
    order.commission_plan = commission_services.active_plan()
    order.save(update_fields=["commission_plan"])
    commission_services.schedule_accrual(order)
    return order


@transaction.atomic
def ship_order(order: Order, *, carrier: str, tracking_number: str, actor) -> Order:
    """Hand a paid order to a carrier with its tracking number."""
    order = _locked(order)
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    if not carrier or not tracking_number:
        raise OrderError(_("A carrier and a tracking number are required."))
    order.carrier, order.tracking_number = carrier, tracking_number
    order.save(update_fields=["carrier", "tracking_number"])
    _transition(order, Order.Status.SHIPPED, actor=actor, note=f"{carrier} {tracking_number}")
    return order


@transaction.atomic
def complete_order(order: Order, *, actor=None) -> Order:
    """Close a shipped order as delivered; its commissions may then be released."""
    order = _locked(order)
    _transition(order, Order.Status.COMPLETED, actor=actor)
    commission_services.schedule_release(order)
    distributor_services.schedule_grade_evaluation(order)
    return order


def _restock(order: Order, *, kind: str, actor=None, reason: str = "") -> None:
    inventory.put_back(
        order.lines.values_list("variant_id", "quantity"),
        kind=kind,
        reference=order.number,
        actor=actor,
        reason=reason,
    )


@transaction.atomic
def cancel_order(order: Order, *, actor=None, reason: str = "") -> Order:
    """Cancel an unpaid order and put its stock back."""
    order = _locked(order)
    _transition(order, Order.Status.CANCELLED, actor=actor, note=reason)
    _restock(order, kind=inventory.Kind.RELEASED, actor=actor, reason=reason)
    return order


@transaction.atomic
def mark_refunded(order: Order, *, actor=None, reason: str = "", restock: bool = True) -> Order:
    """Record a full refund of a paid order; reverses its commissions.

    Called by the payments app after the gateway accepted the refund.
    """
    order = _locked(order)
    _transition(order, Order.Status.REFUNDED, actor=actor, note=reason)
    if restock:
        _restock(order, kind=inventory.Kind.RETURNED, actor=actor, reason=reason)
    commission_services.reverse_order_commissions(order, reason="refund")
    return order


def cancel_unpaid_orders(*, now: datetime | None = None) -> int:
    """Cancel every order still unpaid after ShippingSettings' timeout. Returns how many."""
    cutoff = (now or timezone.now()) - ShippingSettings.get_solo().unpaid_timeout
    cancelled = 0
    stale = Order.objects.filter(
        status=Order.Status.PENDING_PAYMENT, created_at__lt=cutoff
    ).values_list("pk", flat=True)
    for pk in stale.iterator():
        try:
            cancel_order(Order(pk=pk), reason="payment timeout")
        except InvalidTransition:
            continue  # paid in the meantime
        cancelled += 1
    return cancelled


def new_checkout_token() -> uuid.UUID:
    return uuid.uuid4()
