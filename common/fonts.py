"""Fonts with full Vietnamese coverage, found where Debian and Raspberry Pi OS put them."""

from __future__ import annotations

import functools
import unicodedata
from pathlib import Path

from common.errors import UserError

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
)


class FontError(UserError):
    """No font with Vietnamese letters could be found."""


@functools.lru_cache(maxsize=8)
def find_font(path: str = "") -> str:
    """The font file to draw with, opened once here: a file that is not a font is told at start,
    not met by every screen the gate draws (found once per process: each poster asks again)."""
    from PIL import ImageFont

    for candidate in ([path] if path else FONT_CANDIDATES):
        if Path(candidate).is_file():
            try:
                ImageFont.truetype(candidate, 12)
            except OSError as exc:
                raise FontError(f"font {candidate}: not a font Pillow can read ({exc})") from None
            return candidate
    raise FontError(f"font {path} not found" if path else
                    "DejaVu Sans not found: install it (Debian/Raspberry Pi OS: "
                    "sudo apt install fonts-dejavu-core) or set display.font")


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)
