"""Fixtures of customer service's tests (the shop's pages and the admin's alike).

Pictures go to a private storage in a tmp dir for every test here; a shopper, a
second shopper, a staff member allowed to read and answer conversations, a
conversation of the first shopper, their paid order and after-sale request, and a
maker of uploaded pictures (real ones, broken ones, big ones, with GPS in EXIF).
"""

from io import BytesIO

import pytest
from django.contrib.auth.models import Permission
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from support import services
from support.models import Attachment, ServiceSettings

GPS_IFD, ORIENTATION = 0x8825, 0x0112


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path, monkeypatch):
    """The private storage in a tmp dir; returns it.

    The picture field took its storage once, when the models loaded (a callable
    storage is called then), so changing STORAGES alone would still write to the
    real PRIVATE_MEDIA_ROOT: the field is pointed at the new storage too.
    """
    location = tmp_path / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location), "base_url": "/unserved/"},
        },
    }
    storage = storages["private"]
    monkeypatch.setattr(Attachment._meta.get_field("image"), "storage", storage)
    return storage


@pytest.fixture
def always_open(db):
    """Customer service open round the clock: no automatic answer."""
    service = ServiceSettings.get_solo()
    service.open_days = "1234567"
    service.opens_at = service.closes_at = service.opens_at.replace(hour=0, minute=0)
    service.save()
    return service


@pytest.fixture
def never_open(db):
    """Customer service closed every day: every wait gets the automatic answer."""
    service = ServiceSettings.get_solo()
    service.open_days = ""
    service.save()
    return service


@pytest.fixture
def customer(make_user):
    return make_user("lihua", first_name="华", last_name="李")


@pytest.fixture
def other_customer(make_user):
    return make_user("zhangsan", first_name="三", last_name="张")


@pytest.fixture
def support_staff(make_user):
    """A staff member who reads and answers conversations (no superuser powers)."""
    member = make_user("xiaomei", is_staff=True, first_name="小美", last_name="王")
    member.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="support",
            codename__in=["view_conversation", "change_conversation"],
        )
    )
    return member


@pytest.fixture
def english(settings):
    """Labels and messages asserted in English (the admin tests)."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def staff(make_user):
    """A staff member with the given permissions: staff("view_conversation", ...)."""

    def make(*codenames, username="agent", **extra):
        user = make_user(username, is_staff=True, **extra)
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        return user

    return make


@pytest.fixture
def conversation(customer, always_open):
    """The customer's open conversation with their first message."""
    return services.start_conversation(customer, body="你好，请问白酒怎么保存？")


@pytest.fixture
def customer_order(customer, variant, address):
    """A paid order of the customer."""
    from tests.orders.aftersale_helpers import place_paid

    return place_paid(customer, [(variant, 1)], address)


@pytest.fixture
def customer_after_sale(customer, customer_order):
    """The customer's refund request for the whole of their paid order."""
    from orders import aftersale
    from orders.models import AfterSaleRequest

    return aftersale.request_refund(
        customer_order,
        user=customer,
        kind=AfterSaleRequest.Kind.WHOLE_ORDER,
        reason=AfterSaleRequest.Reason.DAMAGED,
    )


def picture_bytes(fmt="JPEG", size=(64, 48), *, gps=False, noise=False) -> bytes:
    """A real picture; `gps` puts a GPS position and a rotation into its EXIF,
    `noise` makes it incompressible (for a big file)."""
    image = Image.effect_noise(size, 80).convert("RGB") if noise else Image.new("RGB", size, "red")
    buffer = BytesIO()
    if gps:
        exif = Image.Exif()
        exif.get_ifd(GPS_IFD)[2] = (31.0, 14.0, 0.0)  # a latitude
        exif[ORIENTATION] = 6
        image.save(buffer, fmt, exif=exif)
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def make_picture():
    """make_picture("photo.jpg"), make_picture(fmt="PNG"), make_picture(gps=True),
    make_picture(content=b"...") for anything else under a picture's name."""

    def make(name="photo.jpg", *, fmt="JPEG", size=(64, 48), gps=False, noise=False, content=None):
        data = content if content is not None else picture_bytes(fmt, size, gps=gps, noise=noise)
        content_type = {"JPEG": "image/jpeg", "PNG": "image/png"}.get(fmt, "image/" + fmt.lower())
        return SimpleUploadedFile(name, data, content_type=content_type)

    return make
