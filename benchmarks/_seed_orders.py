"""A shop of a million orders, seeded in PostgreSQL for benchmarks.dashboard.

The network comes from benchmarks.network's builder; everything else is
INSERT ... SELECT over generate_series, in chunks, so a million orders with
their lines, payments, refunds, commissions and ledger take minutes, not hours.
Every "random" choice is a hash of the row's id (hashint8extended), so the same
sizes seed the same shop, and the orders, their lines and their payments agree
without a round trip: lines are made first (per chunk, in a scratch table) and
each order's subtotal is the sum of its lines.

What the shop looks like:
  - orders spread evenly over `days` days ending now, except one busy day
    (yesterday) holding `busy` orders, all paid (the day summary_day_s rebuilds);
  - status by age and chance: ~5% cancelled unpaid, ~2% refunded, ~3% partially
    refunded, pending payment in the last half hour, the rest paid -> shipped ->
    delivered -> completed as they age; the time stamps follow the status;
  - 1-3 lines each (quantity 1-3, popular variants sell more), a 10.00 coupon on
    ~12% of orders, shipping 10.00 below 199.00;
  - ~60% attributed to a distributor (big early ones sell more) with a referral
    chain of 1-3 of their real ancestors; commissions at the plan's rates for
    the levels it pays, an accrual record per paid order, and ledger entries:
    accrued, released (completed orders), reversed (refunds);
  - a payment per paid order, an after-sale request and a refund per refunded
    order, a few open after-sale requests, withdrawals (most paid, some waiting
    for review) with their ledger entries, a few pending distributor applications.
Ledger entries are append-only for the application; a seed writing them by SQL
is the one exception, as the brief for this benchmark allows.
"""

import random
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth.hashers import make_password

UNUSABLE = make_password(None)
CHUNK = 50_000
STEPS = 8
# (root, slug, children): a few hundred products spread over these leaves.
CATEGORIES = [
    ("白酒", "baijiu", ["酱香型", "浓香型", "清香型", "兼香型"]),
    ("葡萄酒", "wine", ["红葡萄酒", "白葡萄酒", "起泡酒"]),
    ("啤酒", "beer", ["精酿", "进口啤酒"]),
    ("茶叶", "tea", ["绿茶", "红茶", "普洱", "乌龙"]),
    ("礼盒", "gifts", ["节日礼盒", "商务礼盒"]),
]
SIZES = [("500ml", "1.00"), ("500ml×2", "1.90"), ("500ml×6", "5.40")]


def rnd(expr: str, salt: int) -> str:
    """SQL for a number in [0, 1) that depends only on `expr` (an id) and `salt`."""
    return f"((hashint8extended(({expr})::bigint, {salt}) & 2147483647)::float8 / 2147483648.0)"


def say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class Steps:
    """Counted progress on stderr: "[4/8] orders 400,000/1,000,000"."""

    def __init__(self, total: int = STEPS):
        self.total, self.number, self.label, self.began = total, 0, "", 0.0

    def start(self, label: str) -> None:
        self.number += 1
        self.label, self.began = label, time.perf_counter()
        say(f"[{self.number}/{self.total}] {label} ...")

    def progress(self, done: int, total: int) -> None:
        say(f"[{self.number}/{self.total}] {self.label} {done:,}/{total:,}")

    def done(self, note: str = "") -> None:
        seconds = time.perf_counter() - self.began
        say(f"[{self.number}/{self.total}] {self.label} done in {seconds:.1f} s {note}".rstrip())


@dataclass
class Shop:
    """What was seeded: the sizes, and the day whose summary rebuild is timed."""

    orders: int
    distributors: int
    shoppers: int
    products: int
    first_day: date
    busy_day: date
    busy_orders: int
    admin_id: int
    seed_s: float


def seed(
    orders: int,
    distributors: int,
    *,
    shoppers: int | None = None,
    products: int = 300,
    days: int = 730,
    busy: int = 10_000,
    steps: Steps | None = None,
) -> Shop:
    """Seed an empty database (migrated) with the shop described above."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from core.days import midnight

    if connection.vendor != "postgresql":
        raise RuntimeError("the dashboard seed is written in PostgreSQL's SQL")
    if days < 2:
        raise ValueError("days must be at least 2 (yesterday is the busy day)")
    began = time.perf_counter()
    steps = steps or Steps()
    shoppers = shoppers if shoppers is not None else max(1, orders * 3 // 20)
    busy = min(busy, orders // 2)
    now = timezone.now()
    today = timezone.localdate(now)
    first_day = today - timedelta(days=days - 1)
    busy_day = today - timedelta(days=1)
    start, busy_start = midnight(first_day), midnight(busy_day)
    times = {"now": now, "start": start, "busy_start": busy_start}

    admin = get_user_model().objects.create_superuser(
        username="bench-admin", email="bench-admin@example.com", password=None
    )
    plan = _active_plan()

    steps.start(f"network of {distributors:,} distributors (benchmarks.network)")
    dist_lo = _network(distributors, times)
    steps.done()

    steps.start("shoppers")
    shopper_lo = _shoppers(shoppers, times, steps)
    steps.done()

    steps.start("catalog")
    variants = _catalog(products)
    steps.done(f"({products} products, {variants} variants)")

    steps.start("orders and lines")
    base = _max_id("orders_order")
    spread = orders - busy
    params = {
        **times,
        "plan": plan.pk,
        "shopper_lo": shopper_lo,
        "shoppers": shoppers,
        "dist_lo": dist_lo,
        "dists": distributors,
        "variants": variants,
        "first": base + 1,
        "step": ((now - start).total_seconds() - 86400) / max(spread, 1),
    }
    done = 0
    for lo, hi, is_busy in _chunks(base, spread, busy):
        _orders(lo, hi, is_busy, params)
        done += hi - lo + 1
        steps.progress(done, orders)
    _reset_sequence("orders_order", base + orders)
    steps.done()

    last = base + orders
    steps.start("payments, after-sales and refunds")
    for lo, hi in _ranges(base + 1, last):
        _payments(lo, hi, admin.pk, params)
        steps.progress(hi - base, orders)
    _open_after_sales(base + 1, last)
    steps.done()

    steps.start("commissions, accruals and ledger")
    for lo, hi in _ranges(base + 1, last):
        _commissions(lo, hi, plan, now)
        steps.progress(hi - base, orders)
    steps.done()

    steps.start("withdrawals and applications")
    _withdrawals(max(10, distributors // 50), admin.pk, times)
    _applications(shopper_lo, min(40, shoppers), times)
    steps.done()

    steps.start("VACUUM ANALYZE")
    _vacuum_analyze()
    steps.done()
    return Shop(
        orders=orders,
        distributors=distributors,
        shoppers=shoppers,
        products=products,
        first_day=first_day,
        busy_day=busy_day,
        busy_orders=busy,
        admin_id=admin.pk,
        seed_s=time.perf_counter() - began,
    )


def _execute(sql: str, params=None) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _scalar(sql: str, params=None):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _max_id(table: str) -> int:
    return _scalar(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 (our table names)


def _reset_sequence(table: str, value: int) -> None:
    _scalar("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, max(value, 1)])


def _ranges(first: int, last: int, size: int = CHUNK):
    for lo in range(first, last + 1, size):
        yield lo, min(last, lo + size - 1)


def _chunks(base: int, spread: int, busy: int):
    for lo, hi in _ranges(base + 1, base + spread):
        yield lo, hi, False
    for lo, hi in _ranges(base + spread + 1, base + spread + busy):
        yield lo, hi, True


def _active_plan():
    from commissions.models import CommissionPlan

    plan = CommissionPlan.objects.filter(is_active=True).first()
    if plan is None:  # a flushed test database lost the migration's default plan
        plan = CommissionPlan.objects.create(
            name="基准方案", is_active=True, levels=2, level_1_rate="0.1000", level_2_rate="0.0500"
        )
    return plan


def _network(members: int, times: dict) -> int:
    """benchmarks.network's tree of `members`, placed, joined over the period; first id."""
    from benchmarks.network import build_network
    from distributors import tree

    ids = build_network(members, random.Random(20261202))
    tree.place_nodes(1)
    lo, hi = min(ids), max(ids)
    # Members joined over the whole period, the early ones (near the root) first;
    # about 6% reached silver and 1% gold.
    span = (times["now"] - times["start"]).total_seconds()
    _execute(
        f"""
        UPDATE distributors_distributor d SET
            joined_at = %(start)s + ((d.id - %(lo)s) + {rnd("d.id", 41)})
                * %(step)s * interval '1 second',
            grade_id = coalesce(CASE
                WHEN {rnd("d.id", 42)} < 0.01
                    THEN (SELECT id FROM distributors_grade WHERE rank = 2)
                WHEN {rnd("d.id", 42)} < 0.07
                    THEN (SELECT id FROM distributors_grade WHERE rank = 1)
            END, d.grade_id)
        WHERE d.id BETWEEN %(lo)s AND %(hi)s
        """,  # noqa: S608
        {"start": times["start"], "lo": lo, "hi": hi, "step": span / (hi - lo + 1)},
    )
    _execute(
        """
        UPDATE accounts_user u SET date_joined = d.joined_at
        FROM distributors_distributor d WHERE d.user_id = u.id AND d.id BETWEEN %s AND %s
        """,
        [lo, hi],
    )
    return lo


def _shoppers(count: int, times: dict, steps: Steps) -> int:
    """`count` shoppers with consecutive ids, joined over the period; the first id."""
    before = _max_id("accounts_user")
    span = (times["now"] - times["start"]).total_seconds()
    for lo, hi in _ranges(1, count):
        _execute(
            f"""
            INSERT INTO accounts_user (password, last_login, is_superuser, username,
                first_name, last_name, email, is_staff, is_active, date_joined, phone, saved_cart)
            SELECT %(password)s, NULL, false, 'shopper' || g, '', '', '', false, true,
                %(start)s + ((g - 1) + {rnd("g", 51)}) * %(step)s * interval '1 second',
                '139' || lpad(g::text, 8, '0'), '{{}}'::jsonb
            FROM generate_series(%(lo)s, %(hi)s) g ORDER BY g
            """,  # noqa: S608
            {
                "password": UNUSABLE,
                "start": times["start"],
                "step": span / count,
                "lo": lo,
                "hi": hi,
            },
        )
        steps.progress(hi, count)
    low, high, made = _id_range("accounts_user", after=before)
    if made != count or high - low + 1 != count:
        raise RuntimeError("shopper ids are not consecutive; seed an empty database")
    return low


def _id_range(table: str, *, after: int) -> tuple[int, int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT min(id), max(id), count(*) FROM {table} WHERE id > %s",  # noqa: S608
            [after],
        )
        return cursor.fetchone()


def _catalog(products: int) -> int:
    """Categories, `products` products with 1-3 variants each; the variants, indexed
    by popularity in a scratch table for the order lines. Returns how many."""
    from decimal import Decimal

    from django.db import transaction

    from catalog.models import Category, Product, Variant
    from core.locks import lock_tree

    rng = random.Random(20261203)
    leaves = []
    with transaction.atomic():
        lock_tree("categories")
        for name, slug, children in CATEGORIES:
            root = Category.objects.create(name=name, slug=f"bench-{slug}", name_en=slug.title())
            for m, child in enumerate(children):
                leaves.append(
                    Category.objects.create(name=child, slug=f"bench-{slug}-{m}", parent=root)
                )
    made = Product.objects.bulk_create(
        Product(
            category=leaves[n % len(leaves)],
            name=f"{leaves[n % len(leaves)].name} {n}号",
            name_en=f"Product {n}",
            slug=f"bench-product-{n}",
        )
        for n in range(products)
    )
    variants = []
    for product in made:
        price = Decimal(rng.choice([39, 59, 88, 128, 168, 268, 399, 599, 999, 1499]))
        for size, factor in SIZES[: rng.choice([1, 2, 2, 3])]:
            stock = rng.choice([0, 3, 8, 40, 120, 500, 500, 2000])
            variants.append(
                Variant(
                    product=product,
                    name=size,
                    sku=f"BENCH-{product.pk}-{size}",
                    price=(price * Decimal(factor)).quantize(Decimal("1.00")),
                    stock=stock,
                )
            )
    Variant.objects.bulk_create(variants)
    _execute("DROP TABLE IF EXISTS seed_variants")
    _execute(
        f"""
        CREATE TEMP TABLE seed_variants AS
        SELECT (row_number() OVER (ORDER BY {rnd("v.id", 61)}) - 1)::int AS idx, v.id, v.price,
               p.name AS product_name, v.name AS variant_name, v.sku
        FROM catalog_variant v JOIN catalog_product p ON p.id = v.product_id
        WHERE v.sku LIKE 'BENCH-%'
        """  # noqa: S608
    )
    _execute("CREATE UNIQUE INDEX ON seed_variants (idx)")
    return len(variants)


LINES_SQL = f"""
CREATE TEMP TABLE seed_lines AS
SELECT g AS order_id, k, v.id AS variant_id, v.product_name, v.variant_name, v.sku,
       v.price AS unit_price, q.quantity, v.price * q.quantity AS line_total,
       CASE WHEN k = 1 AND {rnd("g", 8)} < 0.12 AND v.price * q.quantity > 30
            THEN 10.00 ELSE 0.00 END AS coupon_discount
FROM generate_series(%(lo)s, %(hi)s) g
CROSS JOIN LATERAL generate_series(
    1, CASE WHEN {rnd("g", 5)} < 0.6 THEN 1 WHEN {rnd("g", 5)} < 0.9 THEN 2 ELSE 3 END) k
CROSS JOIN LATERAL (SELECT CASE WHEN {rnd("g * 4 + k", 7)} < 0.7 THEN 1
                                WHEN {rnd("g * 4 + k", 7)} < 0.93 THEN 2 ELSE 3 END
                    AS quantity) q
JOIN seed_variants v ON v.idx = floor(power({rnd("g * 4 + k", 6)}, 2) * %(variants)s)::int
"""  # noqa: S608

# The time of a refund: within six days of payment, never after now.
REFUND_AT = (
    f"(o.paid_at + (least(%(now)s, o.paid_at + interval '6 days') - o.paid_at) * {rnd('o.id', 12)})"
)

ORDERS_SQL = f"""
INSERT INTO orders_order (id, number, status, subtotal, sale_discount, coupon_discount,
    shipping_fee, total, recipient_name, recipient_phone, shipping_address, note,
    distributor_id, referral_chain, commission_plan_id, checkout_token, carrier,
    tracking_number, language, refunded_total, created_at, paid_at, shipped_at,
    delivered_at, received_at, completed_at, closed_at, user_id)
SELECT o.id,
    to_char(o.created_at AT TIME ZONE %(tz)s, 'YYYYMMDD') || lpad(o.id::text, 10, '0'),
    o.status, s.subtotal, 0, s.coupon_discount, s.shipping_fee, s.subtotal + s.shipping_fee,
    '张三', '13800138000', '上海市浦东新区世纪大道100号', '',
    d.id,
    CASE WHEN d.id IS NULL THEN '[]'::jsonb ELSE to_jsonb(array_remove(ARRAY[
        d.id,
        CASE WHEN o.chain_length >= 2 THEN d.parent_id END,
        CASE WHEN o.chain_length >= 3 THEN p.parent_id END], NULL)) END,
    CASE WHEN d.id IS NULL THEN NULL ELSE %(plan)s END,
    NULL,
    CASE WHEN o.shipped_at IS NULL THEN ''
         ELSE (ARRAY['shunfeng', 'zhongtong', 'yuantong', 'jd'])[1 + floor(o.r_ship * 4)::int] END,
    CASE WHEN o.shipped_at IS NULL THEN '' ELSE 'SF' || lpad(o.id::text, 12, '0') END,
    'zh-hans',
    CASE WHEN o.status = 'refunded' THEN s.subtotal + s.shipping_fee
         WHEN o.status = 'partially_refunded'
             THEN round(s.subtotal * (0.2 + 0.3 * {rnd("o.id", 14)})::numeric, 2)
         ELSE 0 END,
    o.created_at, o.paid_at, o.shipped_at,
    CASE WHEN o.status IN ('delivered', 'completed') THEN o.shipped_at + interval '2 days' END,
    CASE WHEN o.status = 'completed' THEN o.shipped_at + interval '2 days 12 hours' END,
    CASE WHEN o.status = 'completed' THEN o.shipped_at + interval '9 days 12 hours' END,
    CASE WHEN o.status = 'cancelled' THEN o.created_at + interval '30 minutes'
         WHEN o.status = 'refunded' THEN {REFUND_AT} END,
    o.user_id
FROM (
    SELECT x.*,
        CASE WHEN x.status IN ('pending_payment', 'cancelled') THEN NULL
             ELSE least(%(now)s, x.created_at + interval '10 minutes' * x.r_pay) END AS paid_at,
        CASE WHEN x.status IN ('shipped', 'delivered', 'completed')
             THEN least(%(now)s, x.created_at + interval '1 day' * (0.5 + x.r_ship)) END
             AS shipped_at
    FROM (
        SELECT y.*,
            CASE WHEN NOT y.busy AND %(now)s - y.created_at < interval '30 minutes'
                      AND y.r_status < 0.5 THEN 'pending_payment'
                 WHEN NOT y.busy AND y.r_status < 0.05 THEN 'cancelled'
                 WHEN y.r_status < 0.07 THEN 'refunded'
                 WHEN y.r_status < 0.10 THEN 'partially_refunded'
                 WHEN %(now)s - y.created_at > interval '15 days' THEN 'completed'
                 WHEN %(now)s - y.created_at > interval '5 days' THEN 'delivered'
                 WHEN %(now)s - y.created_at > interval '2 days' THEN 'shipped'
                 ELSE 'paid' END AS status
        FROM (
            SELECT g AS id, %(busy)s AS busy,
                CASE WHEN %(busy)s
                     THEN %(busy_start)s + {rnd("g", 1)} * interval '23 hours 40 minutes'
                     WHEN raw >= %(busy_start)s THEN raw + interval '1 day'
                     ELSE raw END AS created_at,
                {rnd("g", 2)} AS r_status, {rnd("g", 9)} AS r_pay, {rnd("g", 13)} AS r_ship,
                %(shopper_lo)s + floor(power({rnd("g", 3)}, 1.6) * %(shoppers)s)::bigint
                    AS user_id,
                CASE WHEN {rnd("g", 4)} < 0.6 THEN %(dist_lo)s
                    + floor(power({rnd("g", 4)} / 0.6, 2) * %(dists)s)::bigint END
                    AS distributor_id,
                CASE WHEN {rnd("g", 10)} < 0.35 THEN 1 WHEN {rnd("g", 10)} < 0.75 THEN 2
                     ELSE 3 END AS chain_length
            FROM generate_series(%(lo)s, %(hi)s) g,
            LATERAL (SELECT %(start)s + ((g - %(first)s) + {rnd("g", 1)}) * %(step)s
                            * interval '1 second' AS raw) r
        ) y
    ) x
) o
JOIN (
    SELECT order_id, sum(line_total - coupon_discount) AS subtotal,
        sum(coupon_discount) AS coupon_discount,
        CASE WHEN sum(line_total - coupon_discount) >= 199 THEN 0.00 ELSE 10.00 END
            AS shipping_fee
    FROM seed_lines GROUP BY order_id
) s ON s.order_id = o.id
LEFT JOIN distributors_distributor d ON d.id = o.distributor_id
LEFT JOIN distributors_distributor p ON p.id = d.parent_id
ORDER BY o.id
"""  # noqa: S608

ORDER_LINES_SQL = """
INSERT INTO orders_orderline (order_id, variant_id, product_name, variant_name, sku,
    unit_price, quantity, line_total, sale_discount, coupon_discount, paid_amount, is_gift)
SELECT order_id, variant_id, product_name, variant_name, sku, unit_price, quantity,
    line_total, 0, coupon_discount, line_total - coupon_discount, false
FROM seed_lines ORDER BY order_id, k
"""


def _orders(lo: int, hi: int, busy: bool, params: dict) -> None:
    from django.db import transaction
    from django.utils import timezone

    chunk = {**params, "lo": lo, "hi": hi, "busy": busy, "tz": timezone.get_current_timezone_name()}
    with transaction.atomic():
        _execute("DROP TABLE IF EXISTS seed_lines")
        _execute(LINES_SQL, chunk)
        _execute(ORDERS_SQL, chunk)
        _execute(ORDER_LINES_SQL)
        _execute("DROP TABLE seed_lines")


PAYMENTS_SQL = f"""
INSERT INTO payments_payment (order_id, gateway, channel, reference, amount, status,
    gateway_trade_no, refund_reference, checkout, created_at, started_at, succeeded_at,
    refunded_at, closed_at, last_queried_at)
SELECT o.id,
    CASE WHEN {rnd("o.id", 21)} < 0.45 THEN 'alipay' ELSE 'wechat' END,
    CASE WHEN {rnd("o.id", 21)} < 0.15 THEN 'page' WHEN {rnd("o.id", 21)} < 0.45 THEN 'wap'
         WHEN {rnd("o.id", 21)} < 0.85 THEN 'jsapi' ELSE 'h5' END,
    'P' || lpad(o.id::text, 20, '0'), o.total,
    CASE WHEN o.status = 'refunded' THEN 'refunded' ELSE 'succeeded' END,
    '2026' || lpad(o.id::text, 16, '0'),
    CASE WHEN o.status = 'refunded' THEN 'RF' || o.id ELSE '' END,
    '{{}}'::jsonb, o.created_at, o.created_at, o.paid_at,
    CASE WHEN o.status = 'refunded' THEN o.closed_at END, NULL, NULL
FROM orders_order o
WHERE o.id BETWEEN %(lo)s AND %(hi)s AND o.paid_at IS NOT NULL
ORDER BY o.id
"""  # noqa: S608

AFTER_SALES_SQL = f"""
INSERT INTO orders_aftersalerequest (order_id, kind, reason, reason_text, status,
    goods_amount, shipping_amount, amount, restock, requested_by_id, created_at,
    decided_by_id, decided_at, decision_note)
SELECT o.id, CASE WHEN o.status = 'refunded' THEN 'whole' ELSE 'lines' END,
    (ARRAY['damaged', 'wrong_item', 'not_as_described', 'changed_mind'])
        [1 + floor({rnd("o.id", 22)} * 4)::int],
    '', 'refunded', least(o.refunded_total, o.subtotal),
    o.refunded_total - least(o.refunded_total, o.subtotal), o.refunded_total, true,
    o.user_id, {REFUND_AT} - interval '2 hours', %(admin)s, {REFUND_AT}, ''
FROM orders_order o
WHERE o.id BETWEEN %(lo)s AND %(hi)s AND o.refunded_total > 0
ORDER BY o.id
"""  # noqa: S608

REFUNDS_SQL = """
INSERT INTO payments_refund (payment_id, after_sale_id, amount, reason, request_no,
    gateway_reference, status, failure_reason, succeeded_at, retried_as_id, actor_id,
    created_at)
SELECT p.id, a.id, a.amount, '', 'R' || lpad(a.order_id::text, 20, '0'), 'G' || a.order_id,
    'succeeded', '', a.decided_at, NULL, %(admin)s, a.decided_at
FROM orders_aftersalerequest a JOIN payments_payment p ON p.order_id = a.order_id
WHERE a.order_id BETWEEN %(lo)s AND %(hi)s AND a.status = 'refunded'
ORDER BY a.order_id
"""


def _payments(lo: int, hi: int, admin_id: int, params: dict) -> None:
    from django.db import transaction

    chunk = {"lo": lo, "hi": hi, "admin": admin_id, "now": params["now"]}
    with transaction.atomic():
        _execute(PAYMENTS_SQL, chunk)
        _execute(AFTER_SALES_SQL, chunk)
        _execute(REFUNDS_SQL, chunk)


def _open_after_sales(lo: int, hi: int) -> None:
    """About 2% of the delivered orders have a request waiting for review."""
    _execute(
        f"""
        INSERT INTO orders_aftersalerequest (order_id, kind, reason, reason_text, status,
            goods_amount, shipping_amount, amount, restock, requested_by_id, created_at,
            decided_by_id, decided_at, decision_note)
        SELECT o.id, 'lines', 'damaged', '', 'requested', round(o.subtotal / 2, 2), 0,
            round(o.subtotal / 2, 2), true, o.user_id, o.delivered_at + interval '1 hour',
            NULL, NULL, ''
        FROM orders_order o
        WHERE o.id BETWEEN %s AND %s AND o.status = 'delivered' AND {rnd("o.id", 23)} < 0.02
        """,  # noqa: S608
        [lo, hi],
    )


COMMISSIONS_SQL = """
INSERT INTO commissions_commission (order_id, distributor_id, plan_id, level, base, rate,
    amount, rule, reversed_amount, status, created_at, released_at, reversed_at)
SELECT c.order_id, c.distributor_id, %(plan)s, c.level, c.base, c.rate, c.amount, '',
    CASE WHEN c.order_status = 'refunded' THEN c.amount
         WHEN c.order_status = 'partially_refunded'
             THEN least(c.amount, round(c.amount * c.refunded_total / c.base, 2))
         ELSE 0 END,
    CASE WHEN c.order_status = 'refunded' THEN 'reversed'
         WHEN c.order_status = 'completed' THEN 'available' ELSE 'pending' END,
    c.paid_at + interval '1 minute',
    CASE WHEN c.order_status = 'completed' THEN c.completed_at END,
    CASE WHEN c.order_status IN ('refunded', 'partially_refunded') THEN c.refund_at END
FROM (
    SELECT o.id AS order_id, (o.referral_chain ->> (r.level - 1))::bigint AS distributor_id,
        r.level, o.subtotal AS base, r.rate, round(o.subtotal * r.rate, 2) AS amount,
        o.status AS order_status, o.refunded_total, o.paid_at, o.completed_at,
        REFUND_AT AS refund_at
    FROM orders_order o
    JOIN (SELECT * FROM unnest(%(levels)s::int[], %(rates)s::numeric[]) AS t(level, rate)) r
        ON jsonb_array_length(o.referral_chain) >= r.level
    WHERE o.id BETWEEN %(lo)s AND %(hi)s AND o.paid_at IS NOT NULL AND o.subtotal > 0
) c
ORDER BY c.order_id, c.level
""".replace("REFUND_AT", REFUND_AT)  # noqa: S608

ACCRUALS_SQL = """
INSERT INTO commissions_accrual (order_id, plan_id, earners, outcome, ran_at)
SELECT o.id, %(plan)s, count(c.id),
    CASE WHEN count(c.id) > 0 THEN 'credited' ELSE 'no_chain' END,
    o.paid_at + interval '1 minute'
FROM orders_order o LEFT JOIN commissions_commission c ON c.order_id = o.id
WHERE o.id BETWEEN %(lo)s AND %(hi)s AND o.paid_at IS NOT NULL
GROUP BY o.id ORDER BY o.id
"""

LEDGER_SQL = """
INSERT INTO commissions_ledgerentry (distributor_id, commission_id, withdrawal_id, bonus_id,
    kind, pending, available, held, note, created_at)
SELECT e.distributor_id, e.commission_id, NULL, NULL, e.kind, e.pending, e.available, 0, '',
    e.created_at
FROM (
    SELECT c.distributor_id, c.id AS commission_id, 'accrued' AS kind, c.amount AS pending,
        0 AS available, c.created_at, 1 AS n
    FROM commissions_commission c WHERE c.order_id BETWEEN %(lo)s AND %(hi)s
    UNION ALL
    SELECT c.distributor_id, c.id, 'released', -c.amount, c.amount, c.released_at, 2
    FROM commissions_commission c
    WHERE c.order_id BETWEEN %(lo)s AND %(hi)s AND c.released_at IS NOT NULL
    UNION ALL
    SELECT c.distributor_id, c.id, 'reversed', -c.reversed_amount, 0, c.reversed_at, 3
    FROM commissions_commission c
    WHERE c.order_id BETWEEN %(lo)s AND %(hi)s AND c.reversed_amount > 0
) e
ORDER BY e.created_at, e.commission_id, e.n
"""


def _commissions(lo: int, hi: int, plan, now: datetime) -> None:
    from django.db import transaction

    levels = [1, 2, 3][: plan.levels]
    rates = [plan.level_1_rate, plan.level_2_rate, plan.level_3_rate][: plan.levels]
    chunk = {"lo": lo, "hi": hi, "plan": plan.pk, "levels": levels, "rates": rates, "now": now}
    with transaction.atomic():
        _execute(COMMISSIONS_SQL, chunk)
        _execute(ACCRUALS_SQL, chunk)
        _execute(LEDGER_SQL, chunk)


def _withdrawals(count: int, admin_id: int, times: dict) -> None:
    """The `count` richest distributors withdrew half their available balance: most were
    paid (reviewed a day later), the newest 5% wait for review."""
    from django.db import transaction

    params = {"n": count, "admin": admin_id, "now": times["now"], "waiting": max(1, count // 20)}
    with transaction.atomic():
        _execute(
            f"""
            INSERT INTO commissions_withdrawal (distributor_id, amount, fee, net_amount, method,
                account_name, account_number, status, reviewer_id, reviewed_at,
                payout_reference, reject_reason, request_token, created_at)
            SELECT b.distributor_id, b.amount, 0, b.amount, 'alipay', '张三',
                '1390013' || lpad(b.distributor_id::text, 6, '0'),
                CASE WHEN b.n <= %(waiting)s THEN 'requested' ELSE 'paid' END,
                CASE WHEN b.n <= %(waiting)s THEN NULL ELSE %(admin)s END,
                CASE WHEN b.n <= %(waiting)s THEN NULL ELSE b.created_at + interval '1 day' END,
                CASE WHEN b.n <= %(waiting)s THEN '' ELSE 'WD' || b.distributor_id END,
                '', NULL, b.created_at
            FROM (
                SELECT distributor_id, round(sum(available) / 2, 2) AS amount,
                    row_number() OVER (ORDER BY sum(available) DESC, distributor_id) AS n,
                    %(now)s - interval '2 days' - interval '58 days' * {rnd("distributor_id", 31)}
                        AS created_at
                FROM commissions_ledgerentry GROUP BY distributor_id
                HAVING sum(available) >= 2
                ORDER BY sum(available) DESC, distributor_id LIMIT %(n)s
            ) b
            """,  # noqa: S608
            params,
        )
        # The waiting ones were asked for in the last two days.
        _execute(
            f"""
            UPDATE commissions_withdrawal SET created_at =
                %(now)s - interval '2 days' * {rnd("id", 32)}
            WHERE status = 'requested'
            """,  # noqa: S608
            params,
        )
        _execute(
            """
            INSERT INTO commissions_ledgerentry (distributor_id, commission_id, withdrawal_id,
                bonus_id, kind, pending, available, held, note, created_at)
            SELECT w.distributor_id, NULL::bigint, w.id, NULL::bigint, 'withdrawal_held',
                0, -w.amount, w.amount, '', w.created_at
            FROM commissions_withdrawal w
            UNION ALL
            SELECT w.distributor_id, NULL, w.id, NULL, 'withdrawal_paid', 0, 0, -w.amount,
                '', w.reviewed_at
            FROM commissions_withdrawal w WHERE w.status = 'paid'
            """
        )


def _applications(shopper_lo: int, count: int, times: dict) -> None:
    from distributors.models import DistributorApplication

    DistributorApplication.objects.bulk_create(
        DistributorApplication(
            user_id=shopper_lo + n,
            name=f"申请人{n}",
            phone="13900000000",
            reason="想一起推广",
            created_at=times["now"] - timedelta(hours=n),
        )
        for n in range(count)
    )


BIG_TABLES = [
    "accounts_user",
    "distributors_distributor",
    "orders_order",
    "orders_orderline",
    "orders_aftersalerequest",
    "payments_payment",
    "payments_refund",
    "commissions_commission",
    "commissions_accrual",
    "commissions_ledgerentry",
    "commissions_withdrawal",
]


def _vacuum_analyze() -> None:
    """Statistics for the planner, and the visibility map an index-only scan needs
    (what autovacuum would have done by the time a shop has a million orders)."""
    from django.db import connection

    if connection.in_atomic_block:  # a test's transaction: ANALYZE alone
        for table in BIG_TABLES:
            _execute(f"ANALYZE {table}")
        return
    for table in BIG_TABLES:
        _execute(f"VACUUM (ANALYZE) {table}")
