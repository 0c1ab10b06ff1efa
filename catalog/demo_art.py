"""Product pictures for the demo shop, drawn with Pillow at seed time (no downloads).

A bottle (baijiu, wine) or a jar (huangjiu) on a soft background, with the
product's name on its label, and a gift box as the second picture. Decent enough
that the storefront looks like a shop; real shops upload photographs.
"""

from io import BytesIO

from PIL import Image, ImageDraw, ImageFilter

from .typeface import cjk_font

SIZE = 800
SCALE = 2  # drawn at twice the size, then reduced: smooth edges
# Part of the pictures' file names: seed_demo redraws a demo picture whose name lacks it.
# Raise it whenever the drawing (or its font) changes. Version 1 used whatever CJK font
# the machine had, and drew empty boxes on one without.
ART_VERSION = 2

# shape, glass colour, cap colour, label colour, ink colour, background top / bottom
STYLES = {
    "porcelain": ("bottle", "#f4efe6", "#b3261e", "#b3261e", "#f7e3a1", "#f6ece4", "#e7d3c4"),
    "red": ("bottle", "#a3201b", "#d4a640", "#f3e6c8", "#8c1a15", "#f7efe8", "#ead6c8"),
    "wine": ("wine", "#2f3b2a", "#5b1522", "#f4efe4", "#5b1522", "#eef0ea", "#d6dccf"),
    "jar": ("jar", "#7a4b2a", "#c8402f", "#e9d4a8", "#7a2a18", "#f5ede1", "#e3d1b8"),
}


def _background(top: str, bottom: str) -> Image.Image:
    side = SIZE * SCALE
    start, end = Image.new("RGB", (1, 1), top), Image.new("RGB", (1, 1), bottom)
    gradient = Image.new("RGB", (1, side))
    for y in range(side):
        gradient.putpixel((0, y), Image.blend(start, end, y / side).getpixel((0, 0)))
    return gradient.resize((side, side))


def _shadow(image: Image.Image, box) -> None:
    layer = Image.new("L", image.size, 0)
    ImageDraw.Draw(layer).ellipse(box, fill=90)
    layer = layer.filter(ImageFilter.GaussianBlur(18 * SCALE))
    image.paste(Image.new("RGB", image.size, "#5a4636"), mask=layer)


def _vertical_text(draw, text: str, centre_x: int, top: int, bottom: int, fill: str) -> None:
    """Chinese labels read top to bottom; the characters are sized to fit."""
    chars = [c for c in text if not c.isspace()][:6]
    if not chars:
        return
    size = min(int((bottom - top) / len(chars) * 0.9), 64 * SCALE)
    font = cjk_font(size)
    for n, char in enumerate(chars):
        draw.text((centre_x, top + n * size * 1.08), char, font=font, fill=fill, anchor="mt")


def _s(*values):
    return [v * SCALE for v in values]


def bottle(name: str, style: str) -> bytes:
    shape, glass, cap, label, ink, top, bottom = STYLES[style]
    image = _background(top, bottom)
    _shadow(image, _s(250, 690, 550, 740))
    draw = ImageDraw.Draw(image)
    if shape == "jar":
        draw.ellipse(_s(220, 250, 580, 720), fill=glass)
        draw.rectangle(_s(320, 200, 480, 280), fill=glass)
        draw.ellipse(_s(300, 170, 500, 230), fill=cap)
        draw.rounded_rectangle(_s(330, 360, 470, 640), radius=12 * SCALE, fill=label)
        draw.rectangle(_s(340, 370, 460, 630), outline=ink, width=3 * SCALE)
        _vertical_text(draw, name, 400 * SCALE, 385 * SCALE, 615 * SCALE, ink)
    elif shape == "wine":
        draw.rounded_rectangle(_s(310, 330, 490, 720), radius=40 * SCALE, fill=glass)
        draw.ellipse(_s(310, 260, 490, 400), fill=glass)
        draw.rectangle(_s(375, 110, 425, 300), fill=glass)
        draw.rectangle(_s(370, 90, 430, 190), fill=cap)
        draw.rectangle(_s(325, 350, 338, 700), fill="#46553f")  # a glint on the glass
        draw.rectangle(_s(345, 470, 478, 650), fill=label)
        draw.line(_s(358, 490, 465, 490), fill=ink, width=2 * SCALE)
        draw.line(_s(358, 630, 465, 630), fill=ink, width=2 * SCALE)
        font = cjk_font(26 * SCALE)
        draw.text(_s(411, 545), name[:3], font=font, fill=ink, anchor="mm")
        draw.text(_s(411, 585), name[3:6], font=font, fill=ink, anchor="mm")
    else:
        draw.rounded_rectangle(_s(290, 300, 510, 720), radius=50 * SCALE, fill=glass)
        draw.rounded_rectangle(_s(350, 190, 450, 330), radius=20 * SCALE, fill=glass)
        draw.rounded_rectangle(_s(345, 120, 455, 210), radius=14 * SCALE, fill=cap)
        draw.rectangle(_s(345, 195, 455, 205), fill="#d4a640")
        draw.rounded_rectangle(_s(330, 390, 470, 660), radius=10 * SCALE, fill=label)
        draw.rectangle(_s(340, 400, 460, 650), outline="#d4a640", width=3 * SCALE)
        _vertical_text(draw, name, 400 * SCALE, 415 * SCALE, 635 * SCALE, ink)
        draw.rounded_rectangle(_s(305, 330, 320, 690), radius=8, fill="#ffffff")
    return _png(image)


def gift_box(name: str, style: str) -> bytes:
    _shape, glass, cap, label, ink, top, bottom = STYLES[style]
    image = _background(top, bottom)
    _shadow(image, _s(170, 680, 630, 740))
    draw = ImageDraw.Draw(image)
    box_colour = cap if style != "red" else glass
    draw.polygon(_s(200, 250, 520, 250, 600, 190, 280, 190), fill="#d9b45a")  # lid top
    draw.polygon(_s(520, 250, 600, 190, 600, 640, 520, 710), fill="#6e1510")  # side
    draw.rectangle(_s(200, 250, 520, 710), fill=box_colour)
    draw.rectangle(_s(220, 270, 500, 690), outline="#d9b45a", width=4 * SCALE)
    draw.ellipse(_s(285, 320, 435, 470), outline="#d9b45a", width=5 * SCALE)
    font = cjk_font(72 * SCALE)
    draw.text(_s(360, 395), name[:1], font=font, fill="#f7e3a1", anchor="mm")
    font = cjk_font(36 * SCALE)
    draw.text(_s(360, 560), name[:6], font=font, fill="#f7e3a1", anchor="mm")
    return _png(image)


def _png(image: Image.Image) -> bytes:
    image = image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)
    buffer = BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
