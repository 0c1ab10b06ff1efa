from io import BytesIO, StringIO

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image, ImageChops, ImageFont

from catalog import demo_art
from catalog.models import ProductImage
from catalog.typeface import CJK_FONT_PATH, cjk_font


def test_the_font_everything_is_drawn_with_ships_with_the_code():
    assert CJK_FONT_PATH.is_file()
    assert CJK_FONT_PATH.is_relative_to(settings.BASE_DIR)
    assert cjk_font(40).getname() == ("Noto Sans SC", "Regular")


def test_different_chinese_names_draw_different_labels_not_the_same_empty_boxes():
    # Without a CJK font every character is the same "tofu" box, so the two labels
    # (same length, same bottle) would come out pixel for pixel the same.
    first = Image.open(BytesIO(demo_art.bottle("酱香型", "porcelain")))
    second = Image.open(BytesIO(demo_art.bottle("葡萄酒", "porcelain")))

    assert ImageChops.difference(first, second).getbbox() is not None


def test_the_demo_pictures_are_drawn_with_the_shipped_font_not_the_machines(monkeypatch):
    # this machine may well have a CJK font of its own (wqy, Noto CJK): the pictures
    # must not depend on it
    loaded = []
    real_truetype = ImageFont.truetype

    def truetype(font, *args, **kwargs):
        loaded.append(str(font))
        return real_truetype(font, *args, **kwargs)

    monkeypatch.setattr(ImageFont, "truetype", truetype)
    cjk_font.cache_clear()

    demo_art.bottle("酱香型", "porcelain")
    demo_art.gift_box("酱香型", "porcelain")

    assert loaded
    assert set(loaded) == {str(CJK_FONT_PATH)}


def test_a_chinese_character_has_its_own_glyph_in_the_shipped_font():
    font = cjk_font(64)
    # U+10FFFD is a private-use code point no font draws: what a missing glyph looks like.
    missing = font.getmask("\U0010fffd").getbbox()

    for char in "白酒葡萄黄酱香型醉":
        assert font.getmask(char).getbbox() != missing


@pytest.mark.django_db
def test_seed_demo_redraws_pictures_drawn_by_an_older_version_and_only_those(
    default_plan, monkeypatch, django_capture_on_commit_callbacks
):
    call_command("seed_demo", stdout=StringIO())
    uploaded = ProductImage.objects.filter(position=1).first()
    ProductImage.objects.filter(pk=uploaded.pk).update(
        image=f"products/{uploaded.product_id}/merchant-photo.png"
    )
    count = ProductImage.objects.count()
    old_files = [image.image.name for image in ProductImage.objects.exclude(pk=uploaded.pk)]

    # when the drawing changes
    monkeypatch.setattr(demo_art, "ART_VERSION", demo_art.ART_VERSION + 1)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=out)

    # then every demo picture is drawn anew, in place, and the merchant's photo stays
    stamp = f"-art{demo_art.ART_VERSION}.png"
    assert ProductImage.objects.count() == count
    uploaded.refresh_from_db()
    assert uploaded.image.name.endswith("merchant-photo.png")
    redrawn = ProductImage.objects.exclude(pk=uploaded.pk)
    assert all(image.image.name.endswith(stamp) for image in redrawn)
    assert f"pictures and specs: {count - 1} created" in out.getvalue()
    # and the old drawings' files are gone
    assert not any(default_storage.exists(name) for name in old_files)
