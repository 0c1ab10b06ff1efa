"""Writes of the order pipeline: placing, paying, shipping, completing, closing.

Every service locks the order row before it changes the status, so a status
moves once whatever the number of concurrent callers; stock rows are locked in
primary-key order so concurrent checkouts cannot deadlock.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import services as account_services
from catalog import inventory
from catalog.models import Variant
from commissions import services as commission_services
from core import busy, logs, outbox
from core.errors import ServiceError
from distributors.binding import resolve_attribution
from distributors.grades import schedule_grade_evaluation
from distributors.selectors import referral_chain_ids
from marketing import coupons, pricing, rewards

from . import notifications, selectors
from .models import (
    RECEIPT_NOTE,
    AfterSaleRequest,
    Order,
    OrderEvent,
    OrderLine,
    Shipment,
    ShippingSettings,
    TrackingEvent,
    new_order_number,
)
from .tracking import TrackingError, TrackingUpdate, carriers, get_adapter

logger = logging.getLogger(__name__)

# The notes services write on order events, in English, named once here:
# orders.admin.EVENT_NOTES shows each in the reader's language. A note may go on
# with more ("receipt confirmed automatically", "after-sale 12: damaged ¥30.00").
# RECEIPT_NOTE (imported from .models) tells the shopper's receipt apart.
AUTOMATICALLY_NOTE = "automatically"
DELIVERED_NOTE = "delivered by carrier"
PAYMENT_TIMEOUT_NOTE = "payment timeout"
CANCELLED_BY_SHOPPER_NOTE = "cancelled by shopper"
CANCELLED_BY_MERCHANT_NOTE = "cancelled by merchant"
REFUNDED_BY_MERCHANT_NOTE = "refunded by merchant"
AFTER_SALE_NOTE = "after-sale"


class OrderError(ServiceError):
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


class CheckoutBusy(OrderError):
    """The cart's stock rows stayed locked by other checkouts longer than
    CHECKOUT_LOCK_TIMEOUT_MS (a flash sale's crowd); nothing was changed."""

    def __init__(self):
        super().__init__(_("Many people are buying this right now. Please try again in a moment."))


def refuse_sold_out(quantities: dict[int, int]) -> None:
    """Raise OutOfStock at once when a variant has less stock than asked for.

    A plain read (one query, no lock): once a hot item is sold out, its late
    buyers are told so without queueing on its row lock. Stock read here may
    be gone a moment later; the locked read and inventory.sell stay the guard.
    """
    variants = Variant.objects.select_related("product").filter(pk__in=quantities)
    for variant in sorted(variants, key=lambda variant: variant.pk):
        if variant.stock < quantities[variant.pk]:
            raise OutOfStock(variant, variant.stock)


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
    coupon: int | str | None = None,
) -> Order:
    """Create a pending order from (variant id, quantity) pairs.

    Prices come from the database, never from the request: list prices, the
    time-limited prices in force, the coupon (`coupon`: one of the shopper's
    claim ids, pricing.BEST, or None) and the gifts reached, each line keeping
    its shares of the discounts (marketing.pricing). Stock (gifts' too) is
    taken under row locks in primary-key order and by a conditional update, so
    it never goes below zero; a gift without stock is left out and listed on
    `order.missed_gifts`. A cart variant already short of stock is refused
    (OutOfStock) by a plain read before any lock is taken, and the locks are
    waited for at most CHECKOUT_LOCK_TIMEOUT_MS (CheckoutBusy, nothing changed).
    The coupon is taken by a conditional update, so one coupon makes one order
    (CouponError otherwise, nothing changed). Replaying the same checkout token
    returns the order it already made instead of a second one.
    """
    if checkout_token is not None:
        existing = selectors.order_placed_with(user, checkout_token)
        if existing is not None:
            return existing
    quantities: dict[int, int] = {}
    for variant_id, quantity in lines:
        if quantity < 1:
            raise OrderError(_("Quantities must be at least 1."))
        quantities[variant_id] = quantities.get(variant_id, 0) + quantity
    if not quantities:
        raise EmptyCart(_("Your cart is empty."))
    refuse_sold_out(quantities)

    # Gift variants are locked with the cart's, in one primary-key order, so that
    # their stock is read once and concurrent checkouts cannot deadlock.
    gift_rules = pricing.gift_rules_at()
    locked_ids = set(quantities) | {rule.gift_id for rule in gift_rules}
    variants = (
        Variant.objects.select_for_update(of=("self",))
        .select_related("product__category")
        .filter(pk__in=locked_ids)
        .order_by("pk")
    )
    try:
        # A hot item's buyers queue on its row: each waits a bounded time, not the queue's.
        with busy.lock_timeout(settings.CHECKOUT_LOCK_TIMEOUT_MS):
            variants = {variant.pk: variant for variant in variants}
    except DatabaseError as exc:
        if busy.is_lock_timeout(exc):
            raise CheckoutBusy from None
        raise
    for variant_id in sorted(quantities):
        variant = variants.get(variant_id)
        if variant is None or not variant.is_purchasable:
            raise VariantUnavailable(_("A product in your cart is no longer available."))
    for rule in gift_rules:  # the locked row, for its stock now
        rule.gift = variants.get(rule.gift_id, rule.gift)
    number = new_order_number()
    logs.bind(order=number)
    quote = pricing.quote(
        user,
        quantities,
        variants,
        coupon=coupon,
        gift_rules=gift_rules,
        stock={pk: variant.stock for pk, variant in variants.items()},
    )
    sold: dict[int, int] = {}
    for line in quote.lines:
        sold[line.variant_id] = sold.get(line.variant_id, 0) + line.quantity
    try:
        inventory.sell(sold.items(), reference=number, actor=user)
    except inventory.InsufficientStock as short:
        raise OutOfStock(variants[short.variant_id], short.available) from None

    subtotal = quote.subtotal
    shipping = shipping_fee_for(subtotal, shipping_rules)
    # The customer binding (推广关系) decides; a distributor's own order (自购返佣) as
    # the plan in force now says. The order records this plan version and accrues
    # under it, so one version decides everything about the order.
    plan = commission_services.active_plan()
    distributor = resolve_attribution(
        user,
        referral_code,
        allow_self_purchase=bool(plan and plan.allows_self_purchase),
        own_order_credits_recruiter=commission_services.own_order_credits_recruiter(plan),
    )
    order = Order(
        number=number,
        user=user,
        # The language the shopper is browsing in (the request's): their emails use it.
        language=_shopper_language(),
        subtotal=subtotal,
        sale_discount=quote.sale_discount,
        coupon_discount=quote.coupon_discount,
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
        commission_plan=plan,
    )
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError:
        # The same checkout token raced us from a second request: that request's
        # order stands, and this transaction (with its stock) rolls back.
        raise OrderError(_("This checkout was already submitted.")) from None
    if quote.chosen is not None:
        coupons.use(quote.chosen.claim.pk, order)
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            variant=variants[line.variant_id],
            product_name=variants[line.variant_id].product.name,
            variant_name=variants[line.variant_id].name,
            sku=variants[line.variant_id].sku,
            unit_price=line.unit_price,
            quantity=line.quantity,
            line_total=line.line_total,
            sale_discount=line.sale_discount,
            coupon_discount=line.coupon_discount,
            paid_amount=line.paid_amount,
            is_gift=line.is_gift,
        )
        for line in quote.lines
    )
    # The gifts the order reached but went without (out of stock): the view says so.
    order.missed_gifts = quote.missed_gifts
    OrderEvent.objects.create(order=order, to_status=order.status, actor=user)
    notifications.placed(order)
    return order


@transaction.atomic
def check_out(user, lines: list[tuple[int, int]], *, address, make_default: bool = False, **order):
    """Place the order of a checkout page; an address typed in there (not saved yet)
    joins the shopper's address book in the same transaction, so a failed order
    saves no address. ``order`` are place_order's keyword arguments."""
    if address.pk is None:
        address.user = user
        address = account_services.save_address(address, make_default=make_default)
    return place_order(user, lines, address=ShippingAddress.of(address), **order)


def _shopper_language() -> str:
    language = translation.get_language() or settings.LANGUAGE_CODE
    codes = {code for code, _name in settings.LANGUAGES}
    return language if language in codes else settings.LANGUAGE_CODE


def locked(order: Order) -> Order:
    """The order re-read under its row lock; call inside a transaction."""
    return Order.objects.select_for_update().get(pk=order.pk)


def transition(order: Order, to_status: str, *, actor=None, note: str = "") -> None:
    """Move a locked order to `to_status`, stamp the time and record the event.

    The one writer of an order's status: `Order.TRANSITIONS` decides what may
    follow what (InvalidTransition otherwise), `Order.STAMPS` which time field
    the new status stamps the first time it is reached.
    """
    if not order.can_become(to_status):
        raise InvalidTransition(order, to_status)
    from_status = order.status
    order.status = to_status
    fields = ["status"]
    stamp_field = Order.STAMPS.get(to_status)
    if stamp_field:
        if getattr(order, stamp_field) is None:
            setattr(order, stamp_field, timezone.now())
        fields.append(stamp_field)
    order.save(update_fields=fields)
    OrderEvent.objects.create(
        order=order, from_status=from_status, to_status=to_status, actor=actor, note=note[:255]
    )


@transaction.atomic
def mark_paid(order: Order, *, note: str = "") -> Order:
    """Record that the money for `order` arrived; schedules commission accrual and
    grants a new customer's recruitment reward (拉新奖励) in this transaction.

    Called by the payments app once per verified payment; a second call for an
    order already paid raises InvalidTransition and changes nothing.
    """
    order = locked(order)
    logs.bind(order=order.number)
    transition(order, Order.Status.PAID, note=note)
    # Commissions follow the plan version that decided who is credited, stamped
    # when the order was placed; only an order placed with no plan in force (or
    # before orders recorded it) takes the one in force now.
    if order.commission_plan_id is None:
        order.commission_plan = commission_services.active_plan()
        order.save(update_fields=["commission_plan"])
    commission_services.schedule_accrual(order)
    rewards.grant(order)
    notifications.paid(order)
    return order


class UnknownCarrier(OrderError):
    def __init__(self, carrier: str):
        super().__init__(
            _("“%(carrier)s” is not a carrier we ship with. Choose one of: %(names)s.")
            % {
                "carrier": carrier,
                "names": ", ".join(str(name) for _code, name in carriers.choices()),
            }
        )


@transaction.atomic
def ship_order(order: Order, *, carrier: str, tracking_number: str, actor) -> Order:
    """Hand a paid order to a carrier with its tracking number: one Shipment per order.

    `carrier` is a carrier's code, name or short form (顺丰, SF, shunfeng): the
    code is stored; an unknown one is refused (UnknownCarrier). Locks the order;
    an order already shipped (or not paid) is refused. A tracked carrier's first
    steps are asked for (and its pushes subscribed) once this commits.
    """
    order = locked(order)
    tracking_number = tracking_number.strip()
    if not carrier.strip() or not tracking_number:
        raise OrderError(_("A carrier and a tracking number are required."))
    code = carriers.normalise(carrier)
    if code is None:
        raise UnknownCarrier(carrier.strip())
    if order.shipped_at is not None or not order.can_become(Order.Status.SHIPPED):
        raise InvalidTransition(order, Order.Status.SHIPPED)
    order.carrier, order.tracking_number = code, tracking_number
    order.save(update_fields=["carrier", "tracking_number"])
    transition(order, Order.Status.SHIPPED, actor=actor, note=f"{code} {tracking_number}")
    shipment = Shipment.objects.create(
        order=order, carrier=code, tracking_number=tracking_number, shipped_at=order.shipped_at
    )
    if get_adapter(code) is not None:
        # The periodic poll would show the first steps only up to 15 minutes later.
        from . import tasks  # tasks call services

        outbox.enqueue(tasks.start_tracking, shipment.pk)
    notifications.shipped(order)
    return order


def record_tracking(shipment: Shipment, updates: list[TrackingUpdate], *, source: str) -> int:
    """Store the steps not stored yet; marks the order delivered if one says so.

    Idempotent: a step already stored (same time and description) is skipped
    (unique constraint); pollers of one shipment take its row lock in turn, so
    each step is counted new once. Returns how many were new.
    """
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        before = shipment.events.count()
        TrackingEvent.objects.bulk_create(
            [
                TrackingEvent(
                    shipment=shipment,
                    time=update.time,
                    place=update.place[:100],
                    description=update.description[:255],
                    source=source,
                )
                for update in updates
            ],
            ignore_conflicts=True,
        )
        added = shipment.events.count() - before
        delivered = [update.time for update in updates if update.delivered]
        if delivered and shipment.delivered_at is None:
            Shipment.objects.filter(pk=shipment.pk, delivered_at=None).update(
                delivered_at=min(delivered)
            )
            mark_delivered(shipment.order, at=min(delivered))
    return added


@transaction.atomic
def mark_delivered(order: Order, *, at: datetime | None = None, actor=None) -> Order:
    """The carrier delivered the parcel (at `at`). Idempotent: a later call changes nothing."""
    order = locked(order)
    if order.delivered_at is None and order.status in (
        Order.Status.SHIPPED,
        Order.Status.PARTIALLY_REFUNDED,
    ):
        order.delivered_at = at  # None: transition stamps now
        transition(order, Order.Status.DELIVERED, actor=actor, note=DELIVERED_NOTE)
        notifications.delivered(order)
    return order


def _follow(shipment: Shipment, adapter) -> int:
    """Subscribe to the shipment's pushes if not yet (and the adapter pushes), then ask
    for its steps once. Raises TrackingError. Returns how many steps were new."""
    if adapter.supports_push and shipment.subscribed_at is None:
        adapter.subscribe(shipment)
        Shipment.objects.filter(pk=shipment.pk).update(subscribed_at=timezone.now())
    added = record_tracking(
        shipment, adapter.fetch_events(shipment), source=TrackingEvent.Source.CARRIER
    )
    Shipment.objects.filter(pk=shipment.pk).update(last_polled_at=timezone.now())
    return added


def start_tracking(shipment: Shipment) -> int:
    """Right after shipping: subscribe to the parcel's pushes and ask for its first steps,
    so the order page shows them at once. Idempotent (a subscription is made once,
    steps are stored once); raises TrackingError for the task to retry."""
    shipment = Shipment.objects.select_related("order").get(pk=shipment.pk)
    adapter = get_adapter(shipment.carrier)
    return _follow(shipment, adapter) if adapter is not None else 0


def poll_tracking(*, now: datetime | None = None) -> int:
    """Ask each carrier with an adapter about the parcels still on their way; a safety
    net for pushes that were lost or not subscribed (subscribes those again).

    An adapter's parcel is asked at most every `min_poll_interval`; one that fails
    is logged and left for the next poll. Returns how many new events were stored.
    """
    now = now or timezone.now()
    in_transit = Shipment.objects.filter(
        delivered_at=None,
        order__status__in=(
            Order.Status.SHIPPED,
            Order.Status.DELIVERED,
            Order.Status.PARTIALLY_REFUNDED,
        ),
    ).select_related("order")
    added = 0
    for shipment in in_transit.order_by("pk").iterator():
        adapter = get_adapter(shipment.carrier)
        if adapter is None:
            continue
        if shipment.last_polled_at and now - shipment.last_polled_at < adapter.min_poll_interval:
            continue
        try:
            added += _follow(shipment, adapter)
        except TrackingError as exc:
            logger.warning(
                "tracking of shipment %s failed, next poll tries again: %s", shipment.pk, exc
            )
    return added


def record_push(
    *, number: str, carrier_codes, updates: list[TrackingUpdate], aborted: bool = False
):
    """Store the steps an aggregator pushed (already verified) for parcel `number` of any of
    `carrier_codes`. Idempotent (record_tracking). An aborted subscription (the
    aggregator stopped following the parcel) is made again by the next poll.
    Returns the shipments of that parcel (none: not ours)."""
    shipments = list(
        Shipment.objects.filter(tracking_number=number, carrier__in=list(carrier_codes))
        .select_related("order")
        .order_by("pk")
    )
    for shipment in shipments:
        record_tracking(shipment, updates, source=TrackingEvent.Source.CARRIER)
    if aborted and shipments:
        Shipment.objects.filter(pk__in=[s.pk for s in shipments]).update(subscribed_at=None)
    return shipments


@transaction.atomic
def confirm_receipt(order: Order, *, actor=None, note: str = "") -> Order:
    """The shopper has the goods (确认收货); the after-sale window starts now.

    Locks the order; refused for an order not shipped or already confirmed.
    """
    order = locked(order)
    if not order.can_confirm_receipt:
        raise OrderError(
            _("Receipt of order %(number)s cannot be confirmed now.") % {"number": order.number}
        )
    transition(order, Order.Status.DELIVERED, actor=actor, note=f"{RECEIPT_NOTE} {note}".strip())
    order.received_at = timezone.now()
    order.save(update_fields=["received_at"])
    notifications.delivered(order)  # nothing more if the carrier's delivery told them
    return order


def confirm_overdue_receipts(*, now: datetime | None = None) -> int:
    """Confirm receipt of every order shipped AUTO_CONFIRM_DAYS ago and not confirmed."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUTO_CONFIRM_DAYS)
    overdue = Order.objects.filter(
        shipped_at__lte=cutoff,
        received_at=None,
        status__in=(Order.Status.SHIPPED, Order.Status.DELIVERED, Order.Status.PARTIALLY_REFUNDED),
    ).values_list("pk", flat=True)
    confirmed = 0
    for pk in list(overdue):
        try:
            confirm_receipt(Order(pk=pk), note=AUTOMATICALLY_NOTE)
        except OrderError:
            continue  # confirmed or refunded in the meantime
        confirmed += 1
    return confirmed


def complete_orders_past_after_sale(*, now: datetime | None = None) -> int:
    """Complete every received order whose after-sale window passed with no open request."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.AFTER_SALE_DAYS)
    due = (
        Order.objects.filter(
            received_at__lte=cutoff,
            status__in=(Order.Status.DELIVERED, Order.Status.PARTIALLY_REFUNDED),
        )
        .exclude(after_sales__status__in=AfterSaleRequest.OPEN_STATUSES)
        .values_list("pk", flat=True)
    )
    completed = 0
    for pk in list(due):
        try:
            complete_order(Order(pk=pk))
        except OrderError:
            continue
        completed += 1
    return completed


@transaction.atomic
def complete_order(order: Order, *, actor=None) -> Order:
    """Close a delivered (or, by the merchant, shipped) order; its commissions may be released.

    Refused while an after-sale request of the order is open.
    """
    order = locked(order)
    if order.after_sales.filter(status__in=AfterSaleRequest.OPEN_STATUSES).exists():
        raise OrderError(
            _("Order %(number)s has an open after-sale request; decide it first.")
            % {"number": order.number}
        )
    if order.status == Order.Status.PARTIALLY_REFUNDED and order.received_at is None:
        raise InvalidTransition(order, Order.Status.COMPLETED)
    transition(order, Order.Status.COMPLETED, actor=actor)
    commission_services.schedule_release(order)
    schedule_grade_evaluation(order)
    return order


@transaction.atomic
def cancel_order(order: Order, *, actor=None, reason: str = "") -> Order:
    """Cancel an unpaid order, put its stock back and give its coupon back.

    Trades opened at a gateway are closed there after the commit, so the shopper
    cannot pay them any more; one paid meanwhile is refunded when its
    notification (or reconciliation's query) arrives.
    """
    from payments import tasks as payment_tasks  # payments depends on orders

    order = locked(order)
    transition(order, Order.Status.CANCELLED, actor=actor, note=reason)
    # An unpaid order was never refunded: everything it took goes back.
    inventory.put_back(
        list(order.lines.values_list("variant_id", "quantity")),
        kind=inventory.Kind.RELEASED,
        reference=order.number,
        actor=actor,
        reason=reason,
    )
    # The coupon of an order that was never paid comes back to the shopper.
    coupons.give_back(order)
    if order.payments.filter(status="created", started_at__isnull=False).exists():
        outbox.enqueue(payment_tasks.close_unpaid_payments, order.pk)
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
            cancel_order(Order(pk=pk), reason=PAYMENT_TIMEOUT_NOTE)
        except InvalidTransition:
            continue  # paid in the meantime
        cancelled += 1
    return cancelled


def new_checkout_token() -> uuid.UUID:
    return uuid.uuid4()
