"""Demo customer record for `seed_demo`: a few tags, staff notes and saved segments,
then every customer's figures and segment. Idempotent: tags and saved segments
that exist (by name) stay as they are, and a customer with notes gets no more."""

from decimal import Decimal

from django.contrib.auth import get_user_model

from . import segments, services
from .models import CustomerNote, CustomerProfile, SavedSegment, Segment, Tag

STAFF = "admin"
SHOPPER = "dave"  # seed_demo's shopper

# name, English name, colour
TAGS = [
    ("团购客户", "Group buyer", "#2b7bb9"),
    ("酒店餐饮", "Hotel & restaurant", "#b07c00"),
    ("需回访", "Call back", "#9b1c1c"),
    ("礼品采购", "Gift buyer", "#2f8a4c"),
]
TOP_BUYER = None  # in CUSTOMERS: whoever has the most paid orders
# username, tag names, note
CUSTOMERS = [
    (SHOPPER, ["需回访"], "电话回访：对酱香型感兴趣，月底前再联系推荐新品。"),
    (TOP_BUYER, ["团购客户", "酒店餐饮"], "餐厅采购，每月固定补货，可谈批量价。"),
    ("lina-customer1", ["礼品采购"], "节前采购礼盒，偏好赤水河窖藏。"),
]
# name, fields, tag names
SAVED = [
    (
        "复购客户",
        {"segments": [Segment.ACTIVE, Segment.HIGH_VALUE], "min_orders": 1},
        [],
    ),
    (
        "沉睡客户唤醒",
        {"segments": [Segment.AT_RISK, Segment.DORMANT]},
        [],
    ),
    (
        "团购与酒店",
        {"min_spent": Decimal("100.00")},
        ["团购客户", "酒店餐饮"],
    ),
]


def seed_customers() -> int:
    """Create the missing demo tags, notes and saved segments, and refresh every
    customer's profile; returns how many tags, notes and saved segments were created."""
    User = get_user_model()
    staff = User.objects.filter(username=STAFF).first()
    created = 0
    tags = {}
    for name, name_en, color in TAGS:
        tags[name], was_created = Tag.objects.get_or_create(
            name=name, defaults={"name_en": name_en, "color": color}
        )
        created += was_created
    segments.refresh_profiles()
    for username, tag_names, note in CUSTOMERS:
        profiles = CustomerProfile.objects.select_related("user")
        if username is TOP_BUYER:
            profile = profiles.filter(orders_count__gt=0).order_by("-orders_count", "pk").first()
        else:
            profile = profiles.filter(user__username=username).first()
        if profile is None:
            continue
        for tag_name in tag_names:
            services.add_tag(CustomerProfile.objects.filter(pk=profile.pk), tags[tag_name])
        if staff is not None and not CustomerNote.objects.filter(customer=profile.user).exists():
            services.add_note(profile.user, note, author=staff)
            created += 1
    for name, fields, tag_names in SAVED:
        if SavedSegment.objects.filter(name=name).exists():
            continue
        saved = SavedSegment.objects.create(name=name, created_by=staff, **fields)
        saved.tags.set([tags[tag_name] for tag_name in tag_names])
        created += 1
    return created
