"""Posters (推广海报) a distributor sends in a chat or prints: a product's, or the
shop's, each with the QR code of their own link.

Drawn on the server with Pillow, the QR code with segno (no outside service sees
the link), Chinese text with the font shipped in catalog/fonts. Drawing takes a
few hundred milliseconds, so a poster is kept in the cache under a digest of
everything drawn on it (the distributor, the product, its picture, price and
name, the link, the language, the drawing's version): a repeat download costs
the few queries that find those, and any change draws a new one.
"""

import hashlib
import io
import re

import segno
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageOps

from catalog import selectors as catalog_selectors
from catalog.images import thumbnail_name
from catalog.models import Product, ProductImage
from catalog.typeface import cjk_font
from core.money import format_cny
from core.site import shop_name
from distributors.models import Distributor

from . import share

# A phone screen's shape (750 x 1334 is the size WeChat posters are usually made at).
WIDTH, HEIGHT = 750, 1334
# Where the QR code goes on either poster: left, top, side.
QR_LEFT, QR_TOP, QR_SIZE = 490, 1090, 200
QR_BORDER = 2  # modules of quiet zone; the white card around it adds more
# Raise whenever the drawing changes: cached posters are then drawn anew.
POSTER_VERSION = 1
CACHE_SECONDS = 24 * 60 * 60
SHOP_PICTURES = 4

BRAND, BRAND_DARK, BRAND_DARKER = "#9b1c1c", "#7a1414", "#5c0f0f"
GOLD, CREAM, INK, MUTED, LINE = "#d9b45a", "#f7efe8", "#2b2320", "#8a7d75", "#eadccf"


def distributor_name(distributor: Distributor) -> str:
    user = distributor.user
    return user.get_full_name() or user.get_username()


# Reads -------------------------------------------------------------------------


def product_poster(distributor: Distributor, product: Product, *, url: str) -> bytes:
    """The PNG poster of `product` for `distributor`, its QR code opening `url`.

    Three queries (the offer, the cover picture); drawn only when the cache has
    no poster of the same content.
    """
    offer = share.offer_of(product)
    cover = (
        ProductImage.objects.filter(product=product)
        .order_by("position", "pk")
        .values_list("image", flat=True)
        .first()
    )
    parts = (
        "product",
        distributor.pk,
        product.pk,
        product.display_name,
        cover or "",
        offer.price if offer else "",
        (offer.struck_price or "") if offer else "",
        distributor_name(distributor),
        url,
    )
    return _cached(
        parts, lambda: _draw_product(product.display_name, cover, offer, distributor, url)
    )


def shop_poster(distributor: Distributor, *, url: str) -> bytes:
    """The PNG poster of the shop for `distributor`: a few featured products'
    pictures and the QR code of `url`. One query; drawn as product_poster is."""
    products = catalog_selectors.featured_products(limit=SHOP_PICTURES)
    pictures = [(product.display_name, product.cover or "") for product in products]
    parts = ("shop", distributor.pk, *(part for picture in pictures for part in picture))
    parts += (distributor_name(distributor), url)
    return _cached(parts, lambda: _draw_shop(pictures, distributor, url))


def _cached(parts: tuple, draw) -> bytes:
    seed = "\x1f".join(map(str, (POSTER_VERSION, get_language() or "", shop_name(), *parts)))
    key = f"marketing:poster:{hashlib.sha256(seed.encode()).hexdigest()}"
    poster = cache.get(key)
    if poster is None:
        poster = draw()
        cache.set(key, poster, CACHE_SECONDS)
    return poster


# Drawing -----------------------------------------------------------------------


def qr_image(url: str, size: int = QR_SIZE) -> Image.Image:
    """The QR code of `url`, black on white in a `size`-pixel square, each module a
    whole number of pixels (crisp on screen and in print). Error correction M, as
    the invite QR code (distributors.qr)."""
    code = segno.make(url, error="m", micro=False)
    modules, _height = code.symbol_size(scale=1, border=QR_BORDER)
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=max(1, size // modules), border=QR_BORDER)
    symbol = Image.open(buffer).convert("RGB")
    square = Image.new("RGB", (size, size), "white")
    offset = (size - symbol.width) // 2
    square.paste(symbol, (offset, offset))
    return square


def _draw_product(name: str, cover: str | None, offer, distributor, url: str) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), CREAM)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 120), fill=BRAND)
    draw.rectangle((0, 116, WIDTH, 120), fill=GOLD)
    _fitted(draw, (WIDTH // 2, 60), shop_name(), 44, WIDTH - 80, "#ffffff", anchor="mm")
    draw.rounded_rectangle((30, 150, WIDTH - 30, HEIGHT - 30), radius=24, fill="#ffffff")

    _paste_rounded(image, _picture(cover, name, 650), (50, 170), radius=16)

    y = 850
    font = cjk_font(40)
    for line in _wrap(name, font, 650, max_lines=2):
        draw.text((50, y), line, font=font, fill=INK)
        y += 56
    if offer is not None:
        price_font = cjk_font(60)
        price = format_cny(offer.price)
        draw.text((50, 1045), price, font=price_font, fill=BRAND, anchor="ls")
        if offer.struck_price:
            x = 50 + price_font.getlength(price) + 20
            struck_font = cjk_font(30)
            struck = format_cny(offer.struck_price)
            draw.text((x, 1045), struck, font=struck_font, fill=MUTED, anchor="ls")
            middle = 1045 - 11
            draw.line((x, middle, x + struck_font.getlength(struck), middle), fill=MUTED, width=2)

    byline = _("Recommended to you by %(name)s")
    _footer(image, draw, distributor, url, byline, _("Scan to see the product and buy it"))
    return _png(image)


def _draw_shop(pictures: list[tuple[str, str]], distributor, url: str) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), CREAM)
    image.paste(_gradient((WIDTH, 330), "#b32a2a", BRAND_DARKER), (0, 0))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 326, WIDTH, 330), fill=GOLD)
    _fitted(draw, (WIDTH // 2, 140), shop_name(), 76, WIDTH - 80, "#ffffff", anchor="mm")
    tagline = _("Baijiu, wine and huangjiu, carefully chosen")
    _fitted(draw, (WIDTH // 2, 240), tagline, 32, WIDTH - 100, GOLD, anchor="mm")
    draw.rounded_rectangle((30, 350, WIDTH - 30, HEIGHT - 30), radius=24, fill="#ffffff")

    side = 280
    for n, (name, cover) in enumerate(pictures[:SHOP_PICTURES]):
        left, top = 65 + (n % 2) * (side + 60), 375 + (n // 2) * (side + 65)
        _paste_rounded(image, _picture(cover, name, side), (left, top), radius=14)
        font = cjk_font(24)
        caption = _wrap(name, font, side, max_lines=1)[0]
        draw.text((left + side // 2, top + side + 14), caption, font=font, fill=INK, anchor="mt")

    byline = _("%(name)s invites you to visit")
    _footer(image, draw, distributor, url, byline, _("Scan to visit the shop"))
    return _png(image)


def _footer(image, draw, distributor, url: str, byline: str, hint: str) -> None:
    """The dashed rule, who shares the poster, the call to scan, and the QR code."""
    for x in range(50, WIDTH - 50, 16):
        draw.line((x, 1070, x + 8, 1070), fill=LINE, width=2)
    image.paste(qr_image(url), (QR_LEFT, QR_TOP))
    width = QR_LEFT - 50 - 20
    _fitted(draw, (50, 1140), byline % {"name": distributor_name(distributor)}, 28, width, INK)
    _fitted(draw, (50, 1195), _("Long-press to scan the QR code"), 32, width, BRAND)
    _fitted(draw, (50, 1250), hint, 24, width, MUTED)


def _fitted(draw, xy, text: str, size: int, width: int, fill: str, anchor: str = "la") -> None:
    """`text` at `size` pixels, or smaller (down to 60%) to fit `width`, cut short beyond."""
    font = cjk_font(size)
    length = font.getlength(text)
    if length > width:  # one smaller font, not a search: each size is a font to load
        font = cjk_font(max(int(size * 0.6), int(size * width / length)))
    draw.text(xy, _wrap(text, font, width, max_lines=1)[0], font=font, fill=fill, anchor=anchor)


# A run of Latin letters and digits stays whole on a line; any other character
# (Chinese, punctuation, a space) may end one.
_TOKEN = re.compile(r"[0-9A-Za-z'’.%-]+|\s+|.")


def _wrap(text: str, font, width: int, *, max_lines: int) -> list[str]:
    """`text` in lines at most `width` pixels wide; the last one ends in … if cut."""
    tokens = []
    for token in _TOKEN.findall(text.strip()):
        # a word wider than the line is broken anywhere
        tokens.extend(list(token) if font.getlength(token) > width else [token])
    lines, line = [], ""
    for token in tokens:
        if line and font.getlength(line + token) > width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
    lines.append(line.rstrip())
    if len(lines) <= max_lines:
        return lines
    last = lines[max_lines - 1]
    while last and font.getlength(last + "…") > width:
        last = last[:-1]
    return [*lines[: max_lines - 1], last.rstrip() + "…"]


def _picture(name: str | None, product_name: str, side: int) -> Image.Image:
    """The product's picture cropped square; the storefront's drawn placeholder
    (its first character in a gold ring on red) when it has none or it cannot be read."""
    for candidate in (thumbnail_name(name, 800), name) if name else ():
        try:
            with default_storage.open(candidate, "rb") as source:
                picture = Image.open(source)
                picture.load()
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
        picture = ImageOps.exif_transpose(picture).convert("RGB")
        return ImageOps.fit(picture, (side, side), Image.Resampling.LANCZOS)
    return _placeholder(product_name, side)


def _placeholder(product_name: str, side: int) -> Image.Image:
    picture = _gradient((side, side), "#b32a2a", BRAND_DARKER)
    draw = ImageDraw.Draw(picture)
    ring = side * 0.45 / 2
    centre = side / 2
    box = (centre - ring, centre - ring, centre + ring, centre + ring)
    draw.ellipse(box, outline=GOLD, width=max(2, side // 150))
    font = cjk_font(side // 5)
    draw.text((centre, centre), product_name[:1], font=font, fill="#ffffff", anchor="mm")
    return picture


def _gradient(size: tuple[int, int], top: str, bottom: str) -> Image.Image:
    width, height = size
    start, end = Image.new("RGB", (1, 1), top), Image.new("RGB", (1, 1), bottom)
    column = Image.new("RGB", (1, height))
    for y in range(height):
        column.putpixel((0, y), Image.blend(start, end, y / max(1, height - 1)).getpixel((0, 0)))
    return column.resize((width, height))


def _paste_rounded(image: Image.Image, picture: Image.Image, at: tuple[int, int], radius: int):
    mask = Image.new("L", picture.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, *picture.size), radius=radius, fill=255)
    image.paste(picture, at, mask)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
