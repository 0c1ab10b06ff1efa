"""Server-side thumbnails of product images, made with Pillow when an image is saved.

Each original ``products/7/bottle.png`` gets ``products/7/bottle.400.webp`` and
``products/7/bottle.800.webp`` beside it (the longer side at most that many
pixels; never enlarged). Pages show the small one in listings and the large one
on the product page, so a phone never downloads a camera-sized original.
"""

import posixpath
from io import BytesIO

from django.core.files.base import ContentFile
from PIL import Image, ImageOps

SIZES = (400, 800)
FORMAT = "WEBP"
QUALITY = 82


def thumbnail_name(name: str, size: int) -> str:
    root, _ext = posixpath.splitext(name)
    return f"{root}.{size}.webp"


def make_thumbnails(field_file) -> list[str]:
    """Write (or overwrite) every thumbnail of ``field_file``; returns their names."""
    storage = field_file.storage
    with storage.open(field_file.name, "rb") as source:
        original = ImageOps.exif_transpose(Image.open(source))
        original.load()
    if original.mode not in ("RGB", "RGBA"):
        original = original.convert("RGBA" if "A" in original.getbands() else "RGB")
    names = []
    for size in SIZES:
        copy = original.copy()
        copy.thumbnail((size, size), Image.Resampling.LANCZOS)
        buffer = BytesIO()
        copy.save(buffer, FORMAT, quality=QUALITY, method=4)
        name = thumbnail_name(field_file.name, size)
        if storage.exists(name):
            storage.delete(name)
        names.append(storage.save(name, ContentFile(buffer.getvalue())))
    return names
