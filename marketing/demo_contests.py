"""Demo leaderboards and contests for `seed_demo`: a few more distributors under the
demo chain, paid orders through their links, a contest running now, one
coming soon and one that ended and was settled. Idempotent: what exists (by
username or contest name) stays."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from catalog.models import Variant
from core.days import midnight
from distributors.models import Distributor
from distributors.network import join_network
from orders import services as order_services
from orders.models import Order

from . import contests
from .models import Contest, ContestPrize, Metric

# username, Chinese name, recruited by
SELLERS = [
    ("wangfang", "王芳", "alice"),
    ("lina", "李娜", "alice"),
    ("liuyang", "刘洋", "bob"),
    ("chenjing", "陈静", "bob"),
    ("zhaolei", "赵磊", "carol"),
]
# seller, [(SKU, quantity, hours ago)]: hours ago of 36 days and more fall in the
# ended contest
SALES = {
    "wangfang": [("MT53-500", 3, 2), ("CS15-500", 1, 20), ("LZ52-500", 1, 36 * 24)],
    "alice": [("YB52-500", 1, 5), ("LZ52-500", 2, 30)],
    "lina": [("NX-CS-750", 2, 3), ("NX-CS-750", 1, 37 * 24), ("JH5-500", 2, 36 * 24)],
    "bob": [("MT53-500", 1, 8)],
    "liuyang": [("SX10-500", 2, 4), ("LZ52-250", 2, 38 * 24)],
    "chenjing": [("JH5-500", 4, 1)],
    "carol": [("LZ52-250", 3, 10)],
}

RUNNING, UPCOMING, ENDED = "销售冠军赛", "新人推荐挑战赛", "双十一冲刺赛"


def seed_contests() -> int:
    """Create what is missing of the demo sellers, their orders and the three contests;
    returns how many things were created."""
    created = _seed_sellers()
    now = timezone.now()
    today = timezone.localdate(now)
    created += _contest(
        RUNNING,
        "Sales champion",
        "活动期间通过您的链接售出的商品金额越高，排名越靠前。"
        "前三名赢现金奖励，销售额达到 ¥1,000 即得奖励金。",
        Metric.SALES,
        midnight(today - timedelta(days=10)),
        midnight(today + timedelta(days=20)),
        [
            {"kind": "rank", "rank_from": 1, "cash": "888.00", "description": "茅台镇酱香礼盒"},
            {"kind": "rank", "rank_from": 2, "rank_to": 3, "cash": "288.00"},
            {"kind": "rank", "rank_from": 4, "rank_to": 10, "description": "定制酒具一套"},
            {"kind": "target", "target": "1000.00", "cash": "50.00"},
        ],
    )
    created += _contest(
        UPCOMING,
        "Recruiting challenge",
        "邀请好友成为分销商，新增下级最多的前三名获得现金奖励。",
        Metric.RECRUITS,
        midnight(today + timedelta(days=5)),
        midnight(today + timedelta(days=19)),
        [
            {"kind": "rank", "rank_from": 1, "rank_to": 3, "cash": "200.00"},
            {"kind": "target", "target": "5", "description": "水晶醒酒器"},
        ],
    )
    ended = _contest(
        ENDED,
        "Double 11 sprint",
        "活动期间订单数最多者获胜。",
        Metric.ORDERS,
        midnight(today - timedelta(days=40)),
        midnight(today - timedelta(days=33)),
        [
            {"kind": "rank", "rank_from": 1, "description": "泸州老窖礼盒"},
            {"kind": "rank", "rank_from": 2, "rank_to": 3, "cash": "66.00"},
        ],
    )
    if ended:
        contests.settle_contest(Contest.objects.get(name=ENDED).pk)
    return created + ended


def _contest(name, name_en, description, metric, starts_at, ends_at, prizes) -> int:
    if Contest.objects.filter(name=name).exists():
        return 0
    contest = Contest.objects.create(
        name=name,
        name_en=name_en,
        description=description,
        metric=metric,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    for prize in prizes:
        ContestPrize.objects.create(
            contest=contest,
            **{
                key: Decimal(value) if key in ("cash", "target") else value
                for key, value in prize.items()
            },
        )
    return 1


def _seed_sellers() -> int:
    User = get_user_model()
    created = 0
    for username, first_name, parent in SELLERS:
        if Distributor.objects.filter(user__username=username).exists():
            continue
        user = User.objects.create_user(username, f"{username}@example.com", None)
        user.first_name = first_name
        user.save(update_fields=["first_name"])
        join_network(user, invite_code=Distributor.objects.get(user__username=parent).invite_code)
        created += 1
    if not created:
        return 0
    variants = Variant.objects.in_bulk(
        {sku for lines in SALES.values() for sku, _q, _h in lines}, field_name="sku"
    )
    now = timezone.now()
    for seller, lines in SALES.items():
        distributor = Distributor.objects.get(user__username=seller)
        for number, (sku, quantity, hours_ago) in enumerate(lines, start=1):
            if sku not in variants:
                continue
            buyer = User.objects.create_user(
                f"{seller}-customer{number}", f"{seller}-customer{number}@example.com", None
            )
            order = order_services.place_order(
                buyer,
                [(variants[sku].pk, quantity)],
                address=order_services.ShippingAddress(
                    "张先生", "13800138000", "上海市浦东新区世纪大道 100 号"
                ),
                referral_code=distributor.invite_code,
            )
            order_services.mark_paid(order, note="demo")
            then = now - timedelta(hours=hours_ago)
            Order.objects.filter(pk=order.pk).update(created_at=then, paid_at=then)
            created += 1
    return created
