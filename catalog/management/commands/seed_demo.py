"""Demo data for `make run`: a small liquor shop, an admin and a referral chain.

Idempotent: run it again and it changes nothing that exists.
"""

import time
import urllib.error
import urllib.request
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from catalog import demo_art, inventory
from catalog.cache import invalidate_everything
from catalog.models import Category, Product, ProductImage, ProductSpec, Variant
from core.locks import lock_tree
from crm.demo import seed_customers
from distributors.demo_evaluation import seed_evaluation, seed_keep_conditions
from distributors.models import Distributor
from distributors.network import join_network
from marketing.demo import seed_coupons
from marketing.demo_contests import seed_contests
from marketing.demo_discounts import seed_discounts
from reports.demo import seed_history
from support.demo import seed_support

DEMO_PASSWORD = "demo12345"  # noqa: S105 - demo accounts only

CATEGORIES = [
    # slug, Chinese, English, parent slug
    ("baijiu", "白酒", "Baijiu", None),
    ("sauce-aroma", "酱香型", "Sauce aroma", "baijiu"),
    ("strong-aroma", "浓香型", "Strong aroma", "baijiu"),
    ("wine", "葡萄酒", "Wine", None),
    ("huangjiu", "黄酒", "Huangjiu (yellow wine)", None),
]

PRODUCTS = [
    # slug, category, Chinese, English, description zh, description en, variants
    (
        "maotai-town-53",
        "sauce-aroma",
        "茅台镇酱香 53度",
        "Maotai Town Sauce Aroma 53%",
        "贵州茅台镇传统坤沙工艺，酱香突出，回味悠长。",
        "Traditional kunsha process from Maotai town; rich sauce aroma and a long finish.",
        [
            ("MT53-500", "500ml", "500ml", "299.00", 120),
            ("MT53-6X500", "6瓶装", "6 bottles", "1699.00", 20),
        ],
    ),
    (
        "chishui-reserve",
        "sauce-aroma",
        "赤水河窖藏 15年",
        "Chishui River 15-Year Reserve",
        "赤水河畔窖藏十五年，适合收藏与宴请。",
        "Cellared fifteen years by the Chishui river; for collectors and banquets.",
        [("CS15-500", "500ml", "500ml", "1299.00", 15)],
    ),
    (
        "luzhou-classic",
        "strong-aroma",
        "泸州老窖香 52度",
        "Luzhou Classic 52%",
        "浓香型代表，窖香浓郁，绵甜爽净。",
        "The classic strong-aroma style: pit aroma, sweet and clean.",
        [
            ("LZ52-500", "500ml", "500ml", "168.00", 200),
            ("LZ52-250", "250ml", "250ml", "89.00", 300),
        ],
    ),
    (
        "yibin-five-grain",
        "strong-aroma",
        "宜宾五粮 52度",
        "Yibin Five Grain 52%",
        "五种粮食酿造，香气悠久，味醇厚。",
        "Distilled from five grains; long aroma, mellow body.",
        [("YB52-500", "500ml", "500ml", "899.00", 60)],
    ),
    (
        "ningxia-cabernet",
        "wine",
        "宁夏贺兰山 赤霞珠干红",
        "Helan Mountain Cabernet Sauvignon",
        "宁夏贺兰山东麓产区，果香饱满，单宁细腻。",
        "From the eastern foothills of the Helan Mountains; ripe fruit and fine tannins.",
        [
            ("NX-CS-750", "750ml", "750ml", "238.00", 80),
            ("NX-CS-6X750", "6瓶装", "6 bottles", "1298.00", 10),
        ],
    ),
    (
        "shaoxing-10",
        "huangjiu",
        "绍兴花雕 十年陈",
        "Shaoxing Huadiao 10-Year",
        "绍兴传统花雕，温饮最佳。",
        "Traditional Shaoxing huadiao; best served warm.",
        [("SX10-500", "500ml", "500ml", "68.00", 5)],
    ),
]

# Two more, so the grids fill a row on a desktop.
PRODUCTS += [
    (
        "yanshan-chardonnay",
        "wine",
        "燕山 霞多丽干白",
        "Yanshan Chardonnay",
        "燕山脚下的霞多丽，清爽果香，适合配海鲜。",
        "Chardonnay from the foot of the Yanshan hills; fresh fruit, good with seafood.",
        [("YS-CH-750", "750ml", "750ml", "158.00", 40)],
    ),
    (
        "jianhu-5",
        "huangjiu",
        "鉴湖 五年陈花雕",
        "Jianhu 5-Year Huadiao",
        "鉴湖水酿造，五年陈酿，口感柔和。",
        "Brewed with Jianhu lake water and aged five years; soft and mellow.",
        [
            ("JH5-500", "500ml", "500ml", "39.00", 150),
            ("JH5-6X500", "6瓶装", "6 bottles", "199.00", 0),
        ],
    ),
]

# Former prices (划线价) of some variants, the products on the home page first, and
# how each product's pictures are drawn (catalog.demo_art).
COMPARE_AT = {
    "MT53-500": "359.00",
    "MT53-6X500": "1999.00",
    "CS15-500": "1599.00",
    "NX-CS-750": "298.00",
    "SX10-500": "88.00",
    "JH5-6X500": "234.00",
}
FEATURED = {"maotai-town-53", "chishui-reserve", "ningxia-cabernet", "shaoxing-10"}
LOOKS = {
    "maotai-town-53": "porcelain",
    "chishui-reserve": "red",
    "luzhou-classic": "red",
    "yibin-five-grain": "porcelain",
    "ningxia-cabernet": "wine",
    "yanshan-chardonnay": "wine",
    "shaoxing-10": "jar",
    "jianhu-5": "jar",
}
# label zh, label en, then per product: value zh, value en
SPEC_LABELS = [("产地", "Origin"), ("酒精度", "Alcohol"), ("净含量", "Volume"), ("香型", "Style")]
SPECS = {
    "maotai-town-53": [
        ("贵州 仁怀", "Renhuai, Guizhou"),
        ("53%vol", "53% vol"),
        ("500ml", "500 ml"),
        ("酱香型", "Sauce aroma"),
    ],
    "chishui-reserve": [
        ("贵州 赤水", "Chishui, Guizhou"),
        ("53%vol", "53% vol"),
        ("500ml", "500 ml"),
        ("酱香型", "Sauce aroma"),
    ],
    "luzhou-classic": [
        ("四川 泸州", "Luzhou, Sichuan"),
        ("52%vol", "52% vol"),
        ("500ml / 250ml", "500 / 250 ml"),
        ("浓香型", "Strong aroma"),
    ],
    "yibin-five-grain": [
        ("四川 宜宾", "Yibin, Sichuan"),
        ("52%vol", "52% vol"),
        ("500ml", "500 ml"),
        ("浓香型", "Strong aroma"),
    ],
    "ningxia-cabernet": [
        ("宁夏 贺兰山东麓", "Helan Mountain, Ningxia"),
        ("13.5%vol", "13.5% vol"),
        ("750ml", "750 ml"),
        ("干红", "Dry red"),
    ],
    "yanshan-chardonnay": [
        ("河北 怀来", "Huailai, Hebei"),
        ("12.5%vol", "12.5% vol"),
        ("750ml", "750 ml"),
        ("干白", "Dry white"),
    ],
    "shaoxing-10": [
        ("浙江 绍兴", "Shaoxing, Zhejiang"),
        ("15%vol", "15% vol"),
        ("500ml", "500 ml"),
        ("半干型", "Semi-dry"),
    ],
    "jianhu-5": [
        ("浙江 绍兴", "Shaoxing, Zhejiang"),
        ("14%vol", "14% vol"),
        ("500ml", "500 ml"),
        ("半干型", "Semi-dry"),
    ],
}

# username, parent username: admin's network of three levels and a shopper.
NETWORK = [("alice", None), ("bob", "alice"), ("carol", "bob")]
SHOPPER = "dave"


class Command(BaseCommand):
    help = "Load the demo shop: catalog, admin, a three-level distributor chain and a shopper."

    def add_arguments(self, parser):
        parser.add_argument(
            "--logins-only",
            action="store_true",
            help="Seed nothing; print the demo sign-ins and the referral link.",
        )
        parser.add_argument(
            "--when-up",
            action="store_true",
            help=(
                "With --logins-only: wait until the site at --site answers, so the "
                "sign-ins come after the server's (and the worker's) start-up output."
            ),
        )
        parser.add_argument(
            "--site",
            metavar="HOST:PORT",
            default="127.0.0.1:8000",
            help="Where the site runs, for the referral link (default 127.0.0.1:8000).",
        )

    def handle(self, *args, **options):
        if not settings.DEMO_SITE:
            # A superuser admin / demo12345 on a real shop is a door left open.
            raise CommandError(
                _(
                    "This is not a demo site: seed_demo would create accounts with a known "
                    "password (admin / %(password)s). Set DEMO_SITE=true (or DJANGO_DEBUG=true) "
                    "only on a demo site."
                )
                % {"password": DEMO_PASSWORD}
            )
        if not options["logins_only"]:
            self.seed()
        elif options["when_up"] and not self.wait_until_up(options["site"]):
            return
        self.print_logins(options["site"])

    @transaction.atomic
    def seed(self) -> None:
        steps = [
            ("categories", self.seed_categories),
            ("products", self.seed_products),
            ("pictures and specs", self.seed_pictures_and_specs),
            ("users", self.seed_users),
            ("distributors", self.seed_network),
            ("grade keeping conditions", seed_keep_conditions),
            ("discounts and gifts", seed_discounts),
            ("coupons", seed_coupons),
            ("leaderboards and contests", seed_contests),
            ("order history (dashboard)", seed_history),
            ("last period's evaluation", seed_evaluation),
            ("customer tags, notes and segments", seed_customers),
            ("customer service", seed_support),
        ]
        for number, (name, step) in enumerate(steps, start=1):
            created = step()
            self.stdout.write(f"[{number}/{len(steps)}] {name}: {created} created")

    def print_logins(self, site: str) -> None:
        self.stdout.write(self.style.SUCCESS(f"Demo shop at http://{site}/  Sign in with:"))
        self.stdout.write(f"  admin (back office, /admin/)  admin / {DEMO_PASSWORD}")
        for username, _parent in NETWORK:
            self.stdout.write(f"  distributor                   {username} / {DEMO_PASSWORD}")
        self.stdout.write(f"  shopper                       {SHOPPER} / {DEMO_PASSWORD}")
        carol = Distributor.objects.filter(user__username="carol").first()
        if carol is not None:
            self.stdout.write(
                f"  carol's referral link         http://{site}/r/{carol.invite_code}/"
            )

    @staticmethod
    def wait_until_up(site: str, *, seconds: int = 120) -> bool:
        """Whether http://``site``/health/live/ answered within ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{site}/health/live/", timeout=2):  # noqa: S310
                    time.sleep(0.5)  # after the server's log line of this very request
                    return True
            except urllib.error.HTTPError:  # it answers, if not with a 200
                return True
            except OSError:  # not listening yet
                time.sleep(0.5)
        return False

    def seed_categories(self) -> int:
        created = 0
        lock_tree("categories")
        for slug, name, name_en, parent_slug in CATEGORIES:
            parent = Category.objects.get(slug=parent_slug) if parent_slug else None
            _obj, was_created = Category.objects.get_or_create(
                slug=slug, defaults={"name": name, "name_en": name_en, "parent": parent}
            )
            created += was_created
        return created

    def seed_products(self) -> int:
        created = 0
        for slug, category, name, name_en, desc, desc_en, variants in PRODUCTS:
            product, was_created = Product.objects.get_or_create(
                slug=slug,
                defaults={
                    "category": Category.objects.get(slug=category),
                    "name": name,
                    "name_en": name_en,
                    "description": desc,
                    "description_en": desc_en,
                    "is_featured": slug in FEATURED,
                },
            )
            created += was_created
            for sku, vname, vname_en, price, stock in variants:
                variant, variant_created = Variant.objects.get_or_create(
                    sku=sku,
                    defaults={
                        "product": product,
                        "name": vname,
                        "name_en": vname_en,
                        "price": Decimal(price),
                        "compare_at_price": Decimal(COMPARE_AT[sku]) if sku in COMPARE_AT else None,
                    },
                )
                if variant_created and stock:
                    inventory.receive(variant, stock, actor=None, reason="demo opening stock")
        return created

    def seed_pictures_and_specs(self) -> int:
        """Two drawn pictures (bottle, gift box) and a spec table for products without them.

        A demo picture drawn by an older ``demo_art`` (its file name lacks the current
        ``ART_VERSION``, e.g. drawn without the shipped font, in empty boxes) is redrawn
        in place; pictures a merchant uploaded are never touched.
        """
        created = 0
        stamp = f"-art{demo_art.ART_VERSION}"
        for product in Product.objects.filter(slug__in=LOOKS).prefetch_related("images"):
            look = LOOKS[product.slug]
            name = product.name.split()[0]
            images = {image.position: image for image in product.images.all()}
            for position, (kind, draw) in enumerate(
                [("bottle", demo_art.bottle), ("box", demo_art.gift_box)]
            ):
                image = images.get(position)
                if images and not self.is_outdated_demo_picture(image, product.slug, kind, stamp):
                    continue
                old_files = image.file_names() if image else []
                if image is None:
                    image = ProductImage(product=product, position=position, alt_text=product.name)
                image.image.save(
                    f"{product.slug}-{kind}{stamp}.png", ContentFile(draw(name, look)), save=False
                )
                image.save()
                storage = image.image.storage
                transaction.on_commit(lambda old=old_files, s=storage: [s.delete(n) for n in old])
                created += 1
            if not product.specs.exists():
                ProductSpec.objects.bulk_create(
                    ProductSpec(
                        product=product,
                        name=label,
                        name_en=label_en,
                        value=value,
                        value_en=value_en,
                        position=position,
                    )
                    for position, ((label, label_en), (value, value_en)) in enumerate(
                        zip(SPEC_LABELS, SPECS[product.slug], strict=True)
                    )
                )
                created += 1
        if created:
            invalidate_everything()
        return created

    @staticmethod
    def is_outdated_demo_picture(image, slug: str, kind: str, stamp: str) -> bool:
        """Whether ``image`` is a picture seed_demo drew (by its file name) before ``stamp``."""
        if image is None:
            return False
        file_name = image.image.name.rsplit("/", 1)[-1]
        return file_name.startswith(f"{slug}-{kind}") and stamp not in file_name

    def seed_users(self) -> int:
        User = get_user_model()
        created = 0
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser("admin", "admin@example.com", DEMO_PASSWORD)
            created += 1
        for username in [name for name, _parent in NETWORK] + [SHOPPER]:
            if not User.objects.filter(username=username).exists():
                User.objects.create_user(username, f"{username}@example.com", DEMO_PASSWORD)
                created += 1
        return created

    def seed_network(self) -> int:
        created = 0
        for username, parent_username in NETWORK:
            if Distributor.objects.filter(user__username=username).exists():
                continue
            parent = (
                Distributor.objects.get(user__username=parent_username) if parent_username else None
            )
            join_network(
                get_user_model().objects.get(username=username),
                invite_code=parent.invite_code if parent else None,
            )
            created += 1
        return created
