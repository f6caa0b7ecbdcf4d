"""The OLED screens (idle, accepted, repeat, rejected) drawn with a font that has Vietnamese."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import qrcode
from PIL import Image, ImageDraw, ImageFont

from common.fonts import find_font, nfc
from device.texts import text
from protocol.checkpoint import checkpoint_qr_text


@dataclass(frozen=True)
class IdleInfo:
    checkpoint_id: str
    checkpoint_name: str
    direction: str  # in, out, auto
    uplink: str  # online, offline, local
    queue_depth: int
    now: datetime  # local time
    portal_url: str = ""  # the checkpoint's QR opens this portal's page for it


class Screens:
    """Renders every screen the gate shows, for one display size, language and font."""

    def __init__(self, size: tuple[int, int] = (128, 64), lang: str = "vi", font_path: str = ""):
        self.size = size
        self.lang = lang
        self.font_path = find_font(font_path)
        self._fonts: dict[int, ImageFont.FreeTypeFont] = {}
        self._qr_cache: dict[tuple[str, int], Image.Image] = {}

    def font(self, px: int) -> ImageFont.FreeTypeFont:
        if px not in self._fonts:
            self._fonts[px] = ImageFont.truetype(self.font_path, px)
        return self._fonts[px]

    def _canvas(self) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        img = Image.new("1", self.size, 0)
        draw = ImageDraw.Draw(img)
        draw.fontmode = "1"  # crisp pixels on a monochrome panel
        return img, draw

    def _wrap(self, s: str, px: int, width: int, max_lines: int) -> list[str] | None:
        """Word-wrap `s` at font size `px` into `width` pixels, or None if it does not fit."""
        f = self.font(px)
        lines: list[str] = []
        for word in s.split():
            trial = f"{lines[-1]} {word}" if lines else word
            if lines and f.getlength(trial) <= width:
                lines[-1] = trial
            elif f.getlength(word) <= width:
                lines.append(word)
            else:
                return None
        return lines if len(lines) <= max_lines else None

    @staticmethod
    def _line_height(px: int) -> int:
        return px * 13 // 10 + 1  # room for stacked Vietnamese marks (Ễ, Ộ, Ỵ)

    def _fit(self, s: str, width: int, height: int, max_lines: int,
             sizes=(16, 14, 13, 12, 11, 10, 9)) -> tuple[int, list[str]]:
        """The largest font size at which `s` fits the box, with its lines; else ellipsised."""
        s = nfc(s)
        for px in sizes:
            lines = self._wrap(s, px, width, max_lines)
            if lines and len(lines) * self._line_height(px) <= height:
                return px, lines
        px = sizes[-1]
        f = self.font(px)
        lines = []
        rest = s.split()
        while rest and len(lines) < max_lines:
            line = rest.pop(0)
            while rest and f.getlength(f"{line} {rest[0]}") <= width:
                line = f"{line} {rest.pop(0)}"
            lines.append(line)
        if rest or f.getlength(lines[-1]) > width:
            cut = lines[-1]
            while cut and f.getlength(cut + "…") > width:
                cut = cut[:-1]
            lines[-1] = cut.rstrip() + "…"
        return px, lines

    def _text_block(self, draw, s: str, box: tuple[int, int, int, int], max_lines: int,
                    sizes=None) -> None:
        x, y, w, h = box
        px, lines = self._fit(s, w, h, max_lines, *([sizes] if sizes else []))
        line_h = self._line_height(px)
        top = y + max(0, (h - line_h * len(lines)) // 2) + 1
        for i, line in enumerate(lines):
            draw.text((x, top + i * line_h), line, font=self.font(px), fill=1)

    def qr(self, data: str, side: int) -> Image.Image:
        """The checkpoint's QR, black on a white quiet zone, at whole pixels per module."""
        key = (data, side)
        if key not in self._qr_cache:
            code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, border=0)
            code.add_data(data)
            code.make(fit=True)
            n = code.modules_count
            scale = max(1, side // (n + 4))
            img = Image.new("1", (side, side), 1)
            off = (side - n * scale) // 2
            for r, row in enumerate(code.get_matrix()):
                for c, dark in enumerate(row):
                    if dark:
                        img.paste(0, (off + c * scale, off + r * scale,
                                      off + (c + 1) * scale, off + (r + 1) * scale))
            self._qr_cache[key] = img
        return self._qr_cache[key]

    def idle(self, info: IdleInfo) -> Image.Image:
        img, draw = self._canvas()
        w, h = self.size
        side = min(h - 2, w // 2 - 2)
        img.paste(self.qr(checkpoint_qr_text(info.checkpoint_id, info.portal_url), side),
                  (w - side, (h - side) // 2))
        col = w - side - 1
        small = self.font(9)
        self._text_block(draw, info.checkpoint_name, (0, 0, col, 25), 2, (9,))
        clock = f"{info.now.strftime('%H:%M')} {text(self.lang, f'dir_{info.direction}')}"
        draw.text((0, 27), clock, font=small, fill=1)
        draw.text((0, 39), text(self.lang, info.uplink), font=small, fill=1)
        draw.text((0, 51), text(self.lang, "queue", n=info.queue_depth), font=small, fill=1)
        return img

    def accepted(self, name: str, direction: str, at: datetime) -> Image.Image:
        img, draw = self._canvas()
        w, h = self.size
        draw.text((0, 0), text(self.lang, "hello"), font=self.font(11), fill=1)
        self._text_block(draw, nfc(name).upper(), (0, 13, w, 34), 2)
        banner = f"{text(self.lang, direction)} {at.strftime('%H:%M')}"
        draw.rectangle((0, h - 16, w - 1, h - 1), fill=1)
        f = self.font(13)
        draw.text(((w - f.getlength(banner)) // 2, h - 16), banner, font=f, fill=0)
        return img

    def repeat(self, name: str, direction: str, previous: datetime) -> Image.Image:
        img, draw = self._canvas()
        w, h = self.size
        self._text_block(draw, nfc(name).upper(), (0, 0, w, 30), 2, (13, 12, 11, 10, 9))
        msg = text(self.lang, f"repeat_{direction}", t=previous.strftime("%H:%M"))
        self._text_block(draw, msg, (0, 32, w, 32), 2, (12, 11, 10, 9))
        return img

    def rejected(self, reason: str) -> Image.Image:
        img, draw = self._canvas()
        w, h = self.size
        draw.rectangle((0, 0, w - 1, 15), fill=1)
        title = text(self.lang, "rejected")
        f = self.font(13)
        draw.text(((w - f.getlength(title)) // 2, 0), title, font=f, fill=0)
        self._text_block(draw, text(self.lang, reason), (0, 17, w, 32), 2, (13, 12, 11, 10, 9))
        if reason == "expired":
            draw.text((0, 52), text(self.lang, "hint"), font=self.font(9), fill=1)
        return img
