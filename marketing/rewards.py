"""The recruitment reward (拉新奖励): who earns it, when, and when it is taken back.

A distributor earns the merchant's fixed amount (RecruitmentRewardSettings)
once for each new customer their link (or binding) brought, on that
customer's first paid order; at most `daily_cap` of them a day (local date).
The reward is pending like a commission, released with the order's
commissions once it completes and the freeze passes
(commissions.services.release_order_commissions), and reversed if that order
is refunded in full; a partial refund keeps it. The money is written by
commissions.bonuses; the rules are here.

Granted in mark_paid's own transaction, not in a task, because the decision
belongs to the moment the money arrives: "first paid order" and "today's
count" are read under the order's lock and the distributor's, and commit (or
roll back) together with the PAID transition. mark_paid succeeds once per
order, so there is nothing to retry and no lost task to sweep for, and a
refund that follows always finds the reward to reverse. The cost is one
distributor row lock, taken only for a customer who may be new.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from commissions import bonuses
from commissions.models import Bonus
from core.days import day_bounds
from distributors.models import Distributor
from orders import selectors as order_selectors
from orders.models import Order

from .models import RecruitmentRewardSettings

logger = logging.getLogger(__name__)


def _is_new_customer(order: Order) -> bool:
    """Whether `order` is its shopper's first paid order ever, and nobody was rewarded for
    them yet. Paid then refunded orders count as paid: a refund does not make anyone new."""
    rewarded = Bonus.objects.filter(kind=Bonus.Kind.RECRUITMENT, customer_id=order.user_id)
    paid_before = order_selectors.customers_who_paid([order.user_id], excluding_order=order)
    return not paid_before and not rewarded.exists()


@transaction.atomic
def grant(order: Order, *, now: datetime | None = None) -> Bonus | None:
    """Reward the distributor `order` is credited to if its shopper is a new customer.

    Called by orders.services.mark_paid with the order locked and just PAID
    (see the module docstring for why in that transaction). Nothing (None)
    unless: rewards are on, the order has an attributed distributor who is
    active, the shopper is neither that distributor nor a distributor at all
    (a distributor's own order, even one credited to their recruiter, brings
    nobody new), this is the shopper's first paid order and they earned
    nobody a reward before, and the distributor got fewer than `daily_cap`
    rewards today (local date; reversed ones count, they were given).

    Under concurrent first orders through one distributor, the distributor's
    row is locked (FOR NO KEY UPDATE, as withdrawals lock it) before today's
    rewards are counted, so the cap holds; the shopper checks are read again
    under that lock, and the one-reward-per-customer constraint settles two
    first orders of one shopper through different distributors.
    """
    settings = RecruitmentRewardSettings.objects.filter(pk=RecruitmentRewardSettings.SINGLETON_PK)
    settings = settings.first()
    if settings is None or not settings.is_enabled or order.distributor_id is None:
        return None
    if Distributor.objects.filter(user_id=order.user_id).exists() or not _is_new_customer(order):
        return None
    now = now or timezone.now()
    distributor = (
        Distributor.objects.select_for_update(no_key=True).only("pk", "user_id", "status")
    ).get(pk=order.distributor_id)
    if not distributor.is_active or distributor.user_id == order.user_id:
        return None
    if not _is_new_customer(order):  # rewarded by an order committed while we waited
        return None
    start, end = day_bounds(timezone.localdate(now))
    given_today = Bonus.objects.filter(
        distributor=distributor,
        kind=Bonus.Kind.RECRUITMENT,
        created_at__gte=start,
        created_at__lt=end,
    ).count()
    if given_today >= settings.daily_cap:
        logger.info(
            "no recruitment reward for order %s: distributor %s already got %d today (cap %d)",
            order.number,
            distributor.pk,
            given_today,
            settings.daily_cap,
        )
        return None
    bonus = bonuses.accrue_recruitment_reward(
        distributor.pk, order=order, amount=settings.amount, now=now
    )
    if bonus is None:
        logger.info("no recruitment reward for order %s: its customer was rewarded", order.number)
    return bonus


def reverse(order: Order, *, reason: str = "refund") -> int:
    """Take back the reward of `order`, refunded in full (orders.refunds.refund_order).

    A partial refund keeps the reward: the customer was brought and kept
    something. Idempotent; the caller holds the order's row lock. Returns how
    many rewards it reversed (0 or 1).
    """
    return bonuses.reverse_order_rewards(order, reason=reason)
