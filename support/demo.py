"""The demo's customer service: canned replies, and conversations of the demo shopper."""

from django.contrib.auth import get_user_model

from orders.models import Order

from . import services
from .models import CannedReply, Conversation

CANNED_REPLIES = [
    ("发货时间", "您好，付款后 48 小时内发货，发货后您可以在订单详情里查看物流。"),
    (
        "物流查询",
        "您好，包裹的最新位置请在“我的订单 → 订单详情”里查看，物流信息一般在发货后 2 小时内更新。",
    ),
    ("退换货", "您好，签收后 7 天内可在订单详情里申请售后，未开封的商品支持无理由退货。"),
    ("发票", "您好，可以开具电子普通发票，请留下发票抬头和税号，我们会在发货后发送到您的邮箱。"),
    ("储存建议", "您好，白酒请避光、常温、竖直存放；葡萄酒请平放于 12–15℃ 的阴凉处。"),
]


def seed_support() -> int:
    """Canned replies and two conversations of the demo shopper: one answered, closed
    and rated, then one still waiting (about their last order).
    Returns how many rows it made; a second run makes none."""
    created = 0
    for position, (title, body) in enumerate(CANNED_REPLIES):
        _reply, made = CannedReply.objects.get_or_create(
            title=title, defaults={"body": body, "position": position}
        )
        created += made
    User = get_user_model()
    shopper = User.objects.filter(username="dave").first()
    agent = User.objects.filter(username="admin").first()
    if shopper is None or agent is None or Conversation.objects.filter(customer=shopper).exists():
        return created

    done = services.start_conversation(shopper, body="请问酱香型和浓香型有什么区别？")
    services.post_message(
        done,
        agent,
        body="您好，酱香型口感细腻、回味悠长；浓香型窖香浓郁、入口绵甜。送礼推荐酱香型。",
        as_staff=True,
    )
    services.close(done)
    services.rate(done, rating=5, comment="解答很专业，谢谢！")
    order = Order.objects.filter(user=shopper).order_by("-pk").first()
    asked = services.start_conversation(
        shopper, body="您好，这瓶酒可以开发票吗？公司报销要用。", order=order
    )
    services.post_message(
        asked,
        agent,
        body="您好，可以的。请留下发票抬头和税号，我们会在发货后发送电子发票到您的邮箱。",
        as_staff=True,
    )
    services.post_message(
        asked, shopper, body="抬头：上海醉香贸易有限公司，税号稍后发您。", as_staff=False
    )
    return created + 2
