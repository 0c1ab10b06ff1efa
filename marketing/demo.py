"""Demo coupons for `seed_demo`: a few in the coupon centre, one for new customers,
one staff issue to the demo shopper, and one of theirs that has expired.
Idempotent: a coupon that exists (by name) stays as it is."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from catalog.models import Category

from . import coupons
from .models import Coupon

SHOPPER = "dave"  # seed_demo's shopper
STAFF = "admin"

# name, English name, fields; "categories" are slugs
COUPONS = [
    (
        "全场满300减30",
        "¥30 off ¥300",
        {"kind": Coupon.Kind.AMOUNT_OFF, "amount": "30.00", "threshold": "300.00"},
        {"total_quantity": 500},
    ),
    (
        "新人无门槛10元券",
        "¥10 welcome coupon",
        {"kind": Coupon.Kind.NO_THRESHOLD, "amount": "10.00"},
        {
            "total_quantity": 1000,
            "audience": Coupon.Audience.NEW_CUSTOMERS,
            "validity": Coupon.Validity.AFTER_CLAIM,
            "valid_days": 7,
        },
    ),
    (
        "酱香型8.5折",
        "15% off sauce aroma",
        {"kind": Coupon.Kind.PERCENT_OFF, "percent_off": "15.00", "max_discount": "100.00"},
        {"total_quantity": 200, "scope": Coupon.Scope.CATEGORIES, "categories": ["sauce-aroma"]},
    ),
    (
        "葡萄酒满200减25",
        "¥25 off ¥200 of wine",
        {"kind": Coupon.Kind.AMOUNT_OFF, "amount": "25.00", "threshold": "200.00"},
        {
            "total_quantity": 50,
            "per_person_limit": 2,
            "scope": Coupon.Scope.CATEGORIES,
            "categories": ["wine"],
        },
    ),
]
MEMBER_COUPON = ("会员专享满1000减150", "Members: ¥150 off ¥1,000")
EXPIRED_COUPON = ("双十一满100减15", "Singles' Day ¥15 off ¥100")


def seed_coupons() -> int:
    """Create the demo coupons that are missing and hand some to the demo shopper;
    returns how many coupons were created."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    User = get_user_model()
    shopper = User.objects.filter(username=SHOPPER).first()
    staff = User.objects.filter(username=STAFF).first()
    created = 0
    for name, name_en, discount, terms in COUPONS:
        if Coupon.objects.filter(name=name).exists():
            continue
        coupon = _make(name, name_en, discount, terms, now=now)
        created += 1
        if shopper is not None and coupon.audience == Coupon.Audience.EVERYONE:
            coupons.claim(shopper, coupon)
    if not Coupon.objects.filter(name=MEMBER_COUPON[0]).exists():
        member = _make(
            *MEMBER_COUPON,
            {"kind": Coupon.Kind.AMOUNT_OFF, "amount": "150.00", "threshold": "1000.00"},
            {"total_quantity": 100, "is_public": False},
            now=now,
        )
        created += 1
        if shopper is not None and staff is not None:
            coupons.issue(member, [shopper], actor=staff)
    if not Coupon.objects.filter(name=EXPIRED_COUPON[0]).exists():
        old = _make(
            *EXPIRED_COUPON,
            {"kind": Coupon.Kind.AMOUNT_OFF, "amount": "15.00", "threshold": "100.00"},
            {"total_quantity": 300},
            now=now,
            starts=now - timedelta(days=40),
            ends=now - timedelta(days=10),
        )
        created += 1
        if shopper is not None:
            # claimed back when it was on offer: it shows under 已过期
            coupons.claim(shopper, old, now=now - timedelta(days=30))
    return created


def _make(name, name_en, discount, terms, *, now, starts=None, ends=None) -> Coupon:
    terms = dict(terms)
    slugs = terms.pop("categories", [])
    fields = {key: Decimal(value) if key != "kind" else value for key, value in discount.items()}
    if terms.get("validity") != Coupon.Validity.AFTER_CLAIM:
        terms["valid_from"] = starts or now - timedelta(hours=1)
        terms["valid_until"] = ends or now + timedelta(days=30)
    coupon = Coupon(name=name, name_en=name_en, **fields, **terms)
    coupon.full_clean()
    coupon.save()
    if slugs:
        coupon.categories.set(Category.objects.filter(slug__in=slugs))
    return coupon
