"""The picture pipeline on the pictures people really send: transparent ones, animated
ones, CMYK scans, 16-bit grey, decompression bombs and truncated files; and the
check that keeps the private storage out of what the site serves."""

from io import BytesIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils.translation import gettext as _
from PIL import Image

from support import pictures, services
from support.checks import check_private_storage_is_not_served
from support.models import Conversation

pytestmark = pytest.mark.django_db


def upload(image: Image.Image, fmt: str, name: str = "picture", **options) -> SimpleUploadedFile:
    buffer = BytesIO()
    image.save(buffer, fmt, **options)
    return SimpleUploadedFile(f"{name}.{fmt.lower()}", buffer.getvalue())


def stored(picture: pictures.PreparedPicture) -> Image.Image:
    image = Image.open(BytesIO(picture.content))
    assert image.format == "WEBP"
    return image


def palette() -> Image.Image:
    image = Image.new("P", (16, 16), 0)
    image.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (768 - 9))
    return image


def files_in(storage) -> list[Path]:
    return [path for path in Path(storage.location).rglob("*") if path.is_file()]


def prepared(file) -> pictures.PreparedPicture:
    [picture] = pictures.prepare([file], limit=4)
    return picture


def test_a_palette_png_keeps_its_transparent_colour():
    image = palette()
    image.paste(1, (8, 0, 16, 16))  # right half red, left half the transparent colour

    picture = stored(prepared(upload(image, "PNG", transparency=0)))

    assert picture.mode == "RGBA"
    assert picture.getpixel((0, 0))[3] == 0  # still transparent, not black
    assert picture.getpixel((12, 8))[3] == 255


def test_an_rgb_png_with_a_transparent_colour_keeps_it():
    image = Image.new("RGB", (16, 16), (10, 20, 30))

    picture = stored(prepared(upload(image, "PNG", transparency=(10, 20, 30))))

    assert picture.getpixel((0, 0))[3] == 0


def test_an_alpha_png_keeps_its_alpha():
    picture = stored(prepared(upload(Image.new("RGBA", (16, 16), (0, 0, 255, 0)), "PNG")))

    assert picture.mode == "RGBA" and picture.getpixel((0, 0))[3] == 0


def test_an_animated_transparent_gif_keeps_its_first_frame_and_its_transparency():
    frames = [palette() for _ in range(3)]
    frames[0].paste(1, (8, 0, 16, 16))
    for number, frame in enumerate(frames[1:], start=1):
        frame.paste(2, (0, 0, 16, 16 // number))
    gif = upload(
        frames[0], "GIF", save_all=True, append_images=frames[1:], transparency=0, duration=80
    )

    picture = stored(prepared(gif))

    assert getattr(picture, "n_frames", 1) == 1
    assert picture.getpixel((0, 0))[3] == 0
    red, green, _blue, alpha = picture.getpixel((12, 8))
    assert alpha == 255 and red > 200 and green < 50  # the first frame's red half


def test_a_cmyk_jpeg_is_stored_in_rgb_with_its_colours():
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # red in print colours

    picture = stored(prepared(upload(cmyk, "JPEG")))

    assert picture.mode == "RGB"
    red, green, blue = picture.getpixel((8, 8))
    assert red > 200 and green < 60 and blue < 60


def test_sixteen_bit_grey_is_scaled_not_clipped_to_white():
    grey = Image.new("I;16", (16, 16), 32768)  # mid grey in 16 bits

    picture = stored(prepared(upload(grey, "PNG")))

    assert 110 < picture.getpixel((8, 8))[0] < 145


@pytest.mark.parametrize("side", [7_000, 20_000])  # over MAX_PIXELS; over Pillow's own limit
def test_a_decompression_bomb_is_refused_for_its_pixels_before_it_is_decoded(side):
    bomb = upload(Image.new("1", (side, side)), "PNG", name="bomb")
    assert bomb.size < 2 * 1024 * 1024  # a small file

    with pytest.raises(pictures.PictureRefused) as refused:
        prepared(bomb)

    assert str(refused.value) == _("%(name)s has too many pixels.") % {"name": "bomb.png"}


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_a_truncated_file_is_refused_and_nothing_is_stored(shopper, private_storage, fmt):
    whole = upload(Image.effect_noise((300, 300), 60).convert("RGB"), fmt).read()
    cut = SimpleUploadedFile(f"cut.{fmt.lower()}", whole[: len(whole) // 2])

    with pytest.raises(pictures.PictureRefused, match="cut"):
        services.start_conversation(shopper, body="半张图", files=[cut])

    assert not Conversation.objects.exists()
    assert files_in(private_storage) == []


def test_a_good_picture_after_a_refused_one_is_not_stored_either(shopper, private_storage):
    good = upload(Image.new("RGB", (16, 16), "red"), "PNG", name="good")
    bad = SimpleUploadedFile("bad.png", b"\x89PNG\r\n\x1a\n not really")

    with pytest.raises(pictures.PictureRefused, match="bad.png"):
        services.start_conversation(shopper, body="两张图", files=[good, bad])

    assert not Conversation.objects.exists()
    assert files_in(private_storage) == []


# --- the private storage is never served ----------------------------------------------


def private_at(settings, location, base_url="/unserved/"):
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location), "base_url": base_url},
        },
    }


def test_the_check_passes_a_private_storage_apart_from_what_is_served(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    private_at(settings, tmp_path / "private")

    assert check_private_storage_is_not_served(None) == []


def test_the_check_refuses_a_private_storage_inside_the_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    private_at(settings, tmp_path / "media" / "private")

    errors = check_private_storage_is_not_served(None)

    assert [error.id for error in errors] == ["support.E001"]
    with pytest.raises(SystemCheckError, match="support.E001"):
        call_command("check")


def test_the_check_refuses_a_private_url_under_the_media_url(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    private_at(settings, tmp_path / "private", base_url="/media/private/")

    assert [error.id for error in check_private_storage_is_not_served(None)] == ["support.E002"]
