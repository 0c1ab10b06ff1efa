"""Demo history for `seed_demo`: two months of orders, so the dashboard (经营概况) and the
reports have something to show.

About 300 orders over the last 60 days, from demo buyers (some bound to the
demo distributors, some direct), through the real services: place_order,
mark_paid, ship_order, complete_order, cancel_order, the one refund path
(orders.refunds.refund_order, through the sandbox gateway), accrual and
release of commissions, a withdrawal paid and one waiting. Each order is then
moved to its day by backdating its times with queryset updates (created_at,
paid_at, shipped_at, completed_at, closed_at; its payment's and its refund's
too). The ledger is append-only, so commissions, their reversals and the
withdrawal are dated when the seed runs: they all land on today's figures.

Also a few things left for staff: orders to ship, unpaid orders about to be
cancelled, open after-sale requests, distributor applications to review.
Then the daily summaries of the 60 days are rebuilt.

Idempotent: nothing is done once the first demo buyer exists. Deterministic
(a seeded random generator), and fast (a few seconds): `make run` seeds every time.
"""

import random
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from catalog import inventory
from catalog.models import Variant
from commissions import services as commission_services
from commissions import withdrawals
from commissions.selectors import earnings_summary
from core.days import midnight
from core.money import to_cents
from distributors.models import Distributor, DistributorApplication
from distributors.network import join_network
from orders import aftersale, refunds
from orders import services as order_services
from orders.models import AfterSaleRequest, Order, Shipment, ShippingSettings
from payments.models import Payment, Refund

from . import summaries

HISTORY_DAYS = 60
LATEST = timedelta(minutes=5)  # today's history ends this long before the seed
SEED = 20250101
CARRIERS = ("shunfeng", "yuantong", "zhongtong")
ADDRESS = order_services.ShippingAddress("陈先生", "13800138000", "上海市浦东新区世纪大道 100 号")

# username, family name, given name: buyers of the history; the first one marks it seeded.
BUYERS = [
    (f"buyer{number:02d}", family, given)
    for number, (family, given) in enumerate(
        [
            ("王", "伟"),
            ("李", "秀英"),
            ("张", "敏"),
            ("刘", "静"),
            ("陈", "强"),
            ("杨", "磊"),
            ("黄", "军"),
            ("赵", "洋"),
            ("吴", "勇"),
            ("周", "艳"),
            ("徐", "杰"),
            ("孙", "娟"),
            ("马", "涛"),
            ("朱", "明"),
            ("胡", "超"),
            ("郭", "霞"),
            ("何", "平"),
            ("高", "刚"),
            ("林", "桂英"),
            ("罗", "丹"),
            ("郑", "鹏"),
            ("梁", "华"),
            ("谢", "飞"),
            ("宋", "慧"),
            ("唐", "鑫"),
            ("许", "婷"),
            ("韩", "斌"),
            ("冯", "宇"),
            ("邓", "浩"),
            ("曹", "凯"),
            ("彭", "佳"),
            ("曾", "琳"),
            ("肖", "健"),
            ("田", "雪"),
            ("董", "欢"),
            ("袁", "亮"),
        ],  # fmt: skip
        start=1,
    )
]
PAYEES = 3  # distributors whose commissions are released at once, to withdraw
JOINS = 5  # buyers who later became distributors (new distributors in the figures)
APPLICANTS = 2  # buyers whose application waits for review


def seed_history(*, now: datetime | None = None) -> int:
    """Create the demo history unless it exists; returns the number of orders made."""
    User = get_user_model()
    if User.objects.filter(username=BUYERS[0][0]).exists():
        return 0
    staff = User.objects.filter(is_superuser=True).order_by("pk").first()
    # Variants already low on stock stay the demo's low-stock examples.
    variants = [
        v
        for v in Variant.objects.filter(is_active=True, product__is_active=True).order_by("pk")
        if v.stock > v.low_stock_threshold
    ]
    sellers = list(
        Distributor.objects.filter(status=Distributor.Status.ACTIVE)
        .select_related("user")
        .order_by("pk")
    )
    if staff is None or not variants:
        return 0
    now = now or timezone.now()
    rng = random.Random(SEED)
    buyers = []
    for username, family, given in BUYERS:
        buyer = User.objects.create_user(username, "", None, last_name=family, first_name=given)
        # A third buy direct; the others came through a distributor's link and stay bound.
        buyers.append((buyer, rng.choice(sellers) if sellers and rng.random() > 0.35 else None))

    plan = _plan(rng, now, buyers, variants)
    _receive_stock(plan)
    payees = {seller.pk for seller in sellers[:PAYEES]}
    orders = [_make(rng, now, staff, payees, *planned) for planned in plan]
    made = [order for order in orders if order is not None]
    _leave_work_for_staff(rng, now, made, buyers, variants, sellers, staff)
    today = timezone.localdate(now)
    summaries.rebuild_range(today - timedelta(days=HISTORY_DAYS - 1), today)
    return len(made)


def _plan(rng, now, buyers, variants) -> list[tuple]:
    """(when, buyer, home distributor, lines) of each order, oldest first; more orders
    lately and at weekends, today's up to LATEST ago."""
    today = timezone.localdate(now)
    cheap = sorted(variants, key=lambda v: v.price)[: max(1, len(variants) // 2)]
    plan = []
    for back in range(HISTORY_DAYS - 1, -1, -1):
        day = today - timedelta(days=back)
        count = 2 + (HISTORY_DAYS - back) // 25 + (2 if day.weekday() >= 5 else 0)
        day_start = midnight(day)
        for _n in range(count + rng.randint(0, 1)):
            if back:
                when = day_start + timedelta(hours=rng.randint(8, 22), minutes=rng.randint(0, 59))
            else:  # today's, in the hours gone by (a few minutes ago at the latest)
                when = day_start + (now - LATEST - day_start) * rng.random()
                if when < day_start:
                    continue
            buyer, home = rng.choice(buyers)
            picks = (
                rng.sample(variants, 2) if rng.random() < 0.25 else [rng.choice(cheap + variants)]
            )
            lines = [(v.pk, rng.choice((1, 1, 1, 2, 2, 3))) for v in picks]
            plan.append((when, buyer, home, lines))
    return plan


def _receive_stock(plan) -> None:
    """The goods the history sells arrive first (a delivery of the demo's warehouse), so
    the stock the other demo steps gave each variant is still there afterwards."""
    units: dict[int, int] = {}
    for _when, _buyer, _home, lines in plan:
        for variant_id, quantity in lines:
            units[variant_id] = units.get(variant_id, 0) + quantity
    for variant in Variant.objects.filter(pk__in=units).order_by("pk"):
        inventory.receive(variant, units[variant.pk], actor=None, reason="demo history")


def _make(rng, now, staff, payees, when, buyer, home, lines) -> Order | None:
    """One order of the history, moved to `when`, its fate drawn by its age.

    The commissions of orders credited to `payees` are accrued and released here,
    so that they can withdraw; the others' accrue and release in the tasks that
    the services enqueue, after the seed commits.
    """
    try:
        order = order_services.place_order(
            buyer, lines, address=ADDRESS, referral_code=home.invite_code if home else ""
        )
    except order_services.OrderError:
        return None  # a demo gift took the last bottle: leave this one out
    age = (timezone.localdate(now) - timezone.localdate(when)).days
    fate = rng.random()
    times = {"created_at": when}
    if fate < 0.08:  # never paid: cancelled when its time to pay ran out
        order_services.cancel_order(order, reason=order_services.PAYMENT_TIMEOUT_NOTE)
        times["closed_at"] = min(when + ShippingSettings.get_solo().unpaid_timeout, now)
        Order.objects.filter(pk=order.pk).update(**times)
        return order
    paid_at = min(when + timedelta(minutes=rng.randint(1, 20)), now)
    order_services.mark_paid(order, note="demo")
    payment = Payment.objects.create(
        order=order, gateway="sandbox", amount=order.total, status=Payment.Status.SUCCEEDED
    )
    Payment.objects.filter(pk=payment.pk).update(created_at=when, succeeded_at=paid_at)
    times["paid_at"] = paid_at
    paying = home is not None and home.pk in payees
    if fate < 0.13 and age >= 3:  # refunded in full the next day, goods not returned
        refunds.refund_order(
            order, actor=staff, reason=order_services.REFUNDED_BY_MERCHANT_NOTE, restock=False
        )
        back_at = paid_at + timedelta(days=1)
        Refund.objects.filter(payment=payment).update(created_at=back_at, succeeded_at=back_at)
        times["closed_at"] = back_at
    elif age >= 2:
        shipped_at = paid_at + timedelta(hours=rng.randint(4, 30))
        order_services.ship_order(
            order,
            carrier=rng.choice(CARRIERS),
            tracking_number=f"DEMO{order.pk:08d}",
            actor=staff,
        )
        times["shipped_at"] = shipped_at
        Shipment.objects.filter(order=order).update(shipped_at=shipped_at)
        if age >= 8:
            order_services.complete_order(order, actor=staff)
            times["completed_at"] = shipped_at + timedelta(days=rng.randint(4, 6))
    Order.objects.filter(pk=order.pk).update(**times)
    if paying and "completed_at" in times:
        # Accrued now rather than by the task after the seed's commit (which then
        # does nothing), so that there is something to release and withdraw.
        commission_services.accrue_commissions(order.pk)
        commission_services.release_order_commissions(order.pk, now=now)
    return order


def _leave_work_for_staff(rng, now, orders, buyers, variants, sellers, staff) -> None:
    """What the dashboard's to-dos point at: after-sale requests, unpaid orders about to
    be cancelled, distributor applications and withdrawals to review; and the buyers
    who became distributors."""
    shipped = Order.objects.filter(
        pk__in=[order.pk for order in orders], status=Order.Status.SHIPPED
    ).order_by("-created_at")
    for order, reason in zip(shipped[:3], ("damaged", "wrong_item", "not_received"), strict=False):
        aftersale.request_refund(
            order, user=order.user, kind=AfterSaleRequest.Kind.WHOLE_ORDER, reason=reason
        )
    timeout = ShippingSettings.get_solo().unpaid_timeout
    for minutes_left in (4, 7, 25):
        buyer, home = rng.choice(buyers)
        order = order_services.place_order(
            buyer,
            [(rng.choice(variants).pk, 1)],
            address=ADDRESS,
            referral_code=home.invite_code if home else "",
        )
        placed = now - timeout + timedelta(minutes=minutes_left)
        Order.objects.filter(pk=order.pk).update(created_at=min(max(placed, now - timeout), now))
    first_order = {}
    for order in orders:
        first_order.setdefault(order.user_id, order)
    joined = 0
    for buyer, home in buyers:
        if joined == JOINS:
            break
        if home is None or buyer.pk not in first_order:
            continue
        member = join_network(buyer, invite_code=home.invite_code)
        day = first_order[buyer.pk].created_at + timedelta(days=rng.randint(1, 10))
        Distributor.objects.filter(pk=member.pk).update(joined_at=min(day, now))
        joined += 1
    for buyer, _home in [pair for pair in buyers if pair[1] is None][:APPLICANTS]:
        DistributorApplication.objects.create(
            user=buyer,
            name=buyer.get_full_name(),
            phone="13900139000",
            reason="想推荐给朋友",
        )
    _withdrawals(sellers, staff)


def _withdrawals(sellers, staff) -> None:
    """The first distributor with enough available has half of it paid out, the next
    one half of theirs waiting for review."""
    plan = commission_services.active_plan()
    if plan is None:
        return
    outcomes = ["paid", "waiting"]
    for seller in sellers:
        if not outcomes:
            return
        available = earnings_summary(seller).available
        if available < plan.min_withdrawal:
            continue
        withdrawal = withdrawals.request_withdrawal(
            seller,
            amount=max(plan.min_withdrawal, to_cents(available / 2)),
            method=withdrawals.allowed_methods(plan)[0],
            account_name=seller.user.get_full_name() or seller.user.username,
            account_number="6222020200112233445",
        )
        if outcomes.pop(0) == "paid":
            withdrawals.approve_withdrawal(
                withdrawal, reviewer=staff, payout_reference="DEMO-PAYOUT-1"
            )
