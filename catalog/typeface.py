"""The one font everything the server draws uses (the demo pictures).

Shipped in the repository (``catalog/fonts/``, SIL OFL) rather than looked up
among the machine's fonts: a fresh server often has no CJK font at all, and
Pillow's default font then draws every Chinese character as an empty box.
"""

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

# Noto Sans SC Regular: Chinese, Latin letters and digits.
CJK_FONT_PATH = Path(__file__).resolve().parent / "fonts" / "NotoSansSC-Regular.ttf"


@lru_cache(maxsize=32)
def cjk_font(size: int) -> ImageFont.FreeTypeFont:
    """The shipped font at ``size`` pixels (cached: loading a 10 MB font takes a while)."""
    return ImageFont.truetype(str(CJK_FONT_PATH), size)
