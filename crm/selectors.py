"""Reads of the customer record: one customer's page, saved segments' customers, exports.

Each is a fixed number of queries whatever the customer (or segment) has.
Figures come from CustomerProfile, as of its last refresh (crm.segments).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import reduce
from operator import or_

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone

from core.money import HALF_FEN
from distributors.models import CustomerBinding
from distributors.selectors import bindings_in_force
from marketing.models import CouponClaim
from orders.models import AfterSaleRequest, Order

from .models import CustomerNote, CustomerProfile, SavedSegment, Tag

RECENT_ORDERS = 20
RECENT_AFTER_SALES = 20
RECENT_COUPONS = 20
PAST_BINDINGS = 20
RECENT_NOTES = 50


@dataclass
class CustomerOverview:
    """What staff see on a customer's page (客户详情)."""

    user: object
    profile: CustomerProfile | None
    now: datetime
    recent_orders: list[Order] = field(default_factory=list)
    after_sales: list[AfterSaleRequest] = field(default_factory=list)
    binding: CustomerBinding | None = None  # the one in force
    past_bindings: list[CustomerBinding] = field(default_factory=list)
    coupons: list[CouponClaim] = field(default_factory=list)  # each with .state
    coupon_counts: dict[str, int] = field(default_factory=dict)
    tags: list[Tag] = field(default_factory=list)
    notes: list[CustomerNote] = field(default_factory=list)

    @property
    def average_order_value(self) -> Decimal | None:
        return self.profile.average_order_value if self.profile else None


def customer_overview(
    user, *, profile: CustomerProfile | None = None, now: datetime | None = None
) -> CustomerOverview:
    """One customer's figures, last orders, refunds, bindings, coupons, tags and
    notes. Eight queries at most, whatever the customer has (six when given the
    `profile` read with its tags, see `profile_with_tags`); lists are the latest
    rows (RECENT_* of each)."""
    now = now or timezone.now()
    if profile is None:
        profile = profile_with_tags(user.pk)
    overview = CustomerOverview(user=user, profile=profile, now=now)
    if profile is not None:
        overview.tags = list(profile.tags.all())
    overview.recent_orders = list(
        Order.objects.filter(user=user)
        .only("number", "status", "total", "refunded_total", "created_at", "paid_at", "received_at")
        .order_by("-created_at", "-pk")[:RECENT_ORDERS]
    )
    overview.after_sales = list(
        AfterSaleRequest.objects.filter(order__user=user)
        .select_related("order")
        .only(
            "kind",
            "reason",
            "status",
            "amount",
            "created_at",
            "decided_at",
            "order__number",
        )
        .order_by("-created_at", "-pk")[:RECENT_AFTER_SALES]
    )
    bindings = list(
        CustomerBinding.objects.filter(customer=user)
        .select_related("distributor__user")
        .order_by("-bound_at", "-pk")[: PAST_BINDINGS + 1]
    )
    overview.binding = next((b for b in bindings if b.is_in_force(now)), None)
    overview.past_bindings = [b for b in bindings if b is not overview.binding][:PAST_BINDINGS]
    claims = CouponClaim.objects.filter(user=user)
    overview.coupons = list(
        claims.select_related("coupon", "order").order_by("-claimed_at", "-pk")[:RECENT_COUPONS]
    )
    for claim in overview.coupons:
        claim.state_now = claim.state(now)
    overview.coupon_counts = claims.aggregate(
        usable=Count("pk", filter=Q(order__isnull=True, valid_until__gt=now)),
        used=Count("pk", filter=Q(order__isnull=False)),
        expired=Count("pk", filter=Q(order__isnull=True, valid_until__lte=now)),
    )
    overview.notes = list(
        CustomerNote.objects.filter(customer=user)
        .select_related("author")
        .order_by("-created_at", "-pk")[:RECENT_NOTES]
    )
    return overview


def profile_with_tags(user_id: int) -> CustomerProfile | None:
    """A customer's profile with their user and tags (two queries), if it exists."""
    return (
        CustomerProfile.objects.filter(pk=user_id)
        .select_related("user")
        .prefetch_related("tags")
        .first()
    )


def matching(saved: SavedSegment, now: datetime) -> Q:
    """The condition on users that a saved segment (保存的客户群) stands for: an active
    user with a profile, and every condition it sets holds (an empty one is no
    condition), on their profile's figures as of the last refresh:

    - segments: in one of them;
    - tags: holding any of them;
    - min_spent: paid less refunded of at least this much;
    - min_orders: at least this many paid orders;
    - ordered_within_days: their last paid order is at most this many days old;
    - bound_to: bound to this distributor now (distributors.selectors.bindings_in_force,
      as marketing's issuing by conditions reads it).

    Customers without a profile yet (never refreshed) match nothing. Reads the
    segment's tags (once, with the segment's own when prefetched).
    """
    condition = Q(is_active=True, customer_profile__isnull=False)
    if saved.segments:
        condition &= Q(customer_profile__segment__in=saved.segments)
    tag_ids = [tag.pk for tag in saved.tags.all()] if saved.pk else []
    if tag_ids:
        tagged = CustomerProfile.tags.through.objects.filter(
            customerprofile_id=OuterRef("pk"), tag_id__in=tag_ids
        )
        condition &= Q(Exists(tagged))
    if saved.min_spent is not None:
        condition &= Q(
            customer_profile__total_paid__gte=F("customer_profile__total_refunded")
            + Value(saved.min_spent - HALF_FEN)
        )
    if saved.min_orders is not None:
        condition &= Q(customer_profile__orders_count__gte=saved.min_orders)
    if saved.ordered_within_days is not None:
        since = now - timedelta(days=saved.ordered_within_days)
        condition &= Q(customer_profile__last_order_at__gte=since)
    if saved.bound_to_id is not None:
        bound = bindings_in_force(now).filter(
            customer=OuterRef("pk"), distributor_id=saved.bound_to_id
        )
        condition &= Q(Exists(bound))
    return condition


def matching_customers(saved: SavedSegment, *, now: datetime | None = None) -> QuerySet:
    """The users a saved segment stands for (`matching`): one query when evaluated."""
    now = now or timezone.now()
    return get_user_model().objects.filter(matching(saved, now)).order_by("pk")


def customers_of_any(saved_segments, *, now: datetime | None = None) -> QuerySet:
    """The users of any of `saved_segments`, each once (none for no segment)."""
    now = now or timezone.now()
    conditions = [matching(saved, now) for saved in saved_segments]
    if not conditions:
        return get_user_model().objects.none()
    return get_user_model().objects.filter(reduce(or_, conditions)).order_by("pk")


def customer_counts(saved_segments, *, now: datetime | None = None) -> dict[int, int]:
    """How many customers each of `saved_segments` has now, by its id: one query
    for all of them (a count per segment over one scan of the users)."""
    now = now or timezone.now()
    saved_segments = list(saved_segments)
    if not saved_segments:
        return {}
    counts = get_user_model().objects.aggregate(
        **{f"s{saved.pk}": Count("pk", filter=matching(saved, now)) for saved in saved_segments}
    )
    return {saved.pk: counts[f"s{saved.pk}"] for saved in saved_segments}


def profiles_of(users: QuerySet) -> QuerySet[CustomerProfile]:
    """The profiles of `users` (a subquery, not a list of ids)."""
    return CustomerProfile.objects.filter(user__in=users.values("pk"))


def with_bound_distributor(profiles: QuerySet, *, now: datetime | None = None) -> QuerySet:
    """`profiles` annotated with `bound_distributor`: the username of the distributor
    binding each customer now (None: nobody)."""
    now = now or timezone.now()
    bound = bindings_in_force(now).filter(customer=OuterRef("user_id"))
    return profiles.annotate(
        bound_distributor=Subquery(bound.values("distributor__user__username")[:1])
    )


EXPORT_CHUNK = 2000


def export_rows(profiles: QuerySet, *, now: datetime | None = None) -> Iterator[dict]:
    """Each customer of `profiles` as an export row: username, name, phone, segment,
    paid orders, spent (paid less refunded, in yuan), last order (local time),
    bound distributor and tags. Read in chunks: two queries per EXPORT_CHUNK
    customers, whatever the number."""
    rows = (
        with_bound_distributor(profiles, now=now)
        .select_related("user")
        .prefetch_related("tags")
        .order_by("user_id")
    )
    for profile in rows.iterator(chunk_size=EXPORT_CHUNK):
        user = profile.user
        last = profile.last_order_at
        yield {
            "username": user.get_username(),
            "name": user.get_full_name(),
            "phone": user.phone,
            "segment": profile.get_segment_display(),
            "orders": profile.orders_count,
            "spent": profile.total_spent,
            "last_order": timezone.localtime(last).strftime("%Y-%m-%d %H:%M") if last else "",
            "bound_distributor": profile.bound_distributor or "",
            "tags": ", ".join(tag.name for tag in profile.tags.all()),
        }
