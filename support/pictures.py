"""Checking and storing the pictures shoppers and staff send in a conversation.

A file is accepted only if Pillow reads it as a JPEG, PNG, WebP or GIF within
the size limits, whatever its name or declared type says. It is then re-encoded
(turned upright by its EXIF orientation, at most MAX_SIDE pixels on its longer
side, as WebP like the product thumbnails): the stored file is one we wrote,
with no EXIF left (a phone photo's GPS position stays on the phone) and no
bytes of the upload beyond its pixels. Transparency is kept (an alpha channel, a
palette's or a PNG's transparent colour), 16-bit grey is scaled to 8 bits rather
than clipped, and an animated GIF or WebP keeps its first frame.
"""

from dataclasses import dataclass
from io import BytesIO

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import ServiceError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
MAX_SIDE = 2048
MAX_PIXELS = 40_000_000  # a decompression bomb is refused before it is decoded
FORMAT, EXTENSION, QUALITY = "WEBP", "webp", 85


def max_bytes() -> int:
    return settings.SUPPORT_MAX_PICTURE_BYTES


class PictureRefused(ServiceError):
    field = "pictures"

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return str(self.message)


@dataclass
class PreparedPicture:
    content: bytes
    width: int
    height: int

    def fields(self, message) -> dict:
        """The Attachment fields of this picture (the file named by the model)."""
        return {
            "image": ContentFile(self.content, name=f"picture.{EXTENSION}"),
            "width": self.width,
            "height": self.height,
            "size": len(self.content),
            "extension": EXTENSION,
        }


def prepare(files, *, limit: int) -> list[PreparedPicture]:
    """Check and re-encode uploaded files; raises PictureRefused for the first bad one
    (too many, too large, not a picture), before anything is stored."""
    files = [f for f in files if f]
    if len(files) > limit:
        raise PictureRefused(_("Attach at most %(max)s pictures to one message.") % {"max": limit})
    return [_prepare_one(upload) for upload in files]


def _prepare_one(upload) -> PreparedPicture:
    name = getattr(upload, "name", "") or ""
    if upload.size > max_bytes():
        raise PictureRefused(
            _("%(name)s is larger than %(max)s MB.")
            % {"name": name, "max": max_bytes() // (1024 * 1024)}
        )
    not_a_picture = PictureRefused(
        _("%(name)s is not a picture (JPEG, PNG, WebP or GIF).") % {"name": name}
    )
    too_many_pixels = PictureRefused(_("%(name)s has too many pixels.") % {"name": name})
    upload.seek(0)
    try:
        with Image.open(upload) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise not_a_picture
            if probe.width * probe.height > MAX_PIXELS:
                raise too_many_pixels
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as source:
            picture = ImageOps.exif_transpose(source)
            picture.load()
    except Image.DecompressionBombError:  # so many pixels that Pillow will not even open it
        raise too_many_pixels from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise not_a_picture from None
    picture = _rgb_or_rgba(picture)
    picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    buffer = BytesIO()
    picture.save(buffer, FORMAT, quality=QUALITY, method=4)
    return PreparedPicture(buffer.getvalue(), picture.width, picture.height)


def _rgb_or_rgba(picture: Image.Image) -> Image.Image:
    """The picture in a mode WebP stores as it looks: RGBA when anything in it is
    transparent (a palette's or PNG's transparent colour too, not only an alpha
    channel), else RGB; 16-bit grey is scaled to 8 bits first (converting it
    directly clips everything above 255 to white)."""
    if picture.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        picture = picture.convert("I").point(lambda value: value / 256).convert("L")
    mode = "RGBA" if picture.has_transparency_data else "RGB"
    return picture if picture.mode == mode else picture.convert(mode)
