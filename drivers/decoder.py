"""QR decoders (zxing-cpp, pyzbar) behind one interface; raw bytes kept, UTF-8 decoded right."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from common.errors import UserError

NAMES = ("zxing", "zbar")


@dataclass(frozen=True)
class Decoded:
    raw: bytes
    text: str


class Decoder(Protocol):
    name: str

    def decode(self, grey: np.ndarray) -> list[Decoded]: ...


def _utf8_or(raw: bytes, fallback: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return fallback


class ZxingDecoder:
    """zxing-cpp restricted to QR codes; the gate's default. Cheap where there is no code, and
    heavier only where one is:

    1. zxing on the whole frame (local-average binarizer), asking for failed reads too: when it
       finds finder patterns it cannot decode, it says where.
    2. Nothing there: one quick pass with the global histogram binarizer (glare-washed, unevenly
       lit codes), then a texture locator on a quarter-size frame finds the busiest region, if any
       stands out (a code is the densest pattern of edges a door camera sees).
    3. On that region only: the crop equalised and locally contrast-stretched (low light, glare,
       uneven light), enlarged 2x (bicubic: modules
       of 1.5 to 3 px become readable), sharpened (motion and defocus blur), contrast-stretched.
       Then, a code being there, the whole frame enlarged 1.5x, and zbar on it. The first that
       reads wins, and
       nothing heavy starts once the frame has taken `budget_ms` (the scan loop's rate on a Pi).
    try_rotate is off: zxing's QR detector finds codes at any angle by itself.
    """

    name = "zxing"

    def __init__(self, fallback: bool = True, budget_ms: float = 40.0):
        import zxingcpp

        self._zx = zxingcpp
        self._formats = zxingcpp.BarcodeFormat.QRCode
        self._fallback = fallback
        self._budget_ns = int(budget_ms * 1e6)
        try:
            self._zbar: ZbarDecoder | None = ZbarDecoder() if fallback else None
        except ImportError:  # libzbar0 missing: zxing alone
            self._zbar = None

    def _read(self, grey: np.ndarray, **options) -> list:
        return self._zx.read_barcodes(np.ascontiguousarray(grey), formats=self._formats,  # type: ignore[arg-type]
                                      try_rotate=False, **options)

    def decode(self, grey: np.ndarray) -> list[Decoded]:
        started = time.monotonic_ns()

        def in_budget() -> bool:
            return time.monotonic_ns() - started < self._budget_ns

        grey = np.ascontiguousarray(grey)
        found = self._read(grey, return_errors=self._fallback)
        valid = [c for c in found if c.valid]
        if not valid and self._fallback:
            # zxing's failed reads are often pieces of one code (a finder pattern or two): the
            # region that holds them all, with room for the rest of the code.
            boxes = (_box_of(c.position, grey.shape) for c in found)
            pieces = [b for b in boxes if min(b[2] - b[0], b[3] - b[1]) >= 40]  # not specks of noise
            regions = [_union(pieces, grey.shape)] if pieces else []
            if not regions:
                valid = self._read(grey, try_downscale=False, binarizer=self._zx.Binarizer.GlobalHistogram)
                regions = [] if valid else busy_regions(grey)
            if regions and not valid and in_budget():
                valid = self._read_region(grey, regions[0], in_budget)
            if regions and not valid and in_budget():  # a code is there: the whole frame enlarged
                valid = self._read_enlarged(grey, in_budget)
            if regions and not valid and in_budget() and self._zbar is not None:
                # zbar's line scanner reads some codes zxing's detector cannot place (perspective
                # and blur together, a code cut by the frame's edge): the other library, last.
                return self._zbar.decode(grey)
        out = []
        for code in valid:
            raw = bytes(code.bytes)
            out.append(Decoded(raw, _utf8_or(raw, code.text)))
        return out

    def _read_enlarged(self, grey: np.ndarray, in_budget: Callable[[], bool]) -> list:
        from PIL import Image, ImageFilter

        img = Image.fromarray(grey)
        big = img.resize((img.width * 3 // 2, img.height * 3 // 2), Image.Resampling.BICUBIC)
        for make in (lambda: big, lambda: big.filter(ImageFilter.UnsharpMask(radius=3, percent=120, threshold=0))):
            found = [c for c in self._read(np.asarray(make())) if c.valid]
            if found or not in_budget():
                return found
        return []

    def _read_region(self, grey: np.ndarray, box: tuple[int, int, int, int], in_budget: Callable[[], bool]) -> list:
        from PIL import Image, ImageFilter, ImageOps

        x0, y0, x1, y1 = box
        crop = Image.fromarray(grey[y0:y1, x0:x1])
        big = crop.resize((crop.width * 2, crop.height * 2), Image.Resampling.BICUBIC)
        variants = (lambda: ImageOps.equalize(crop), lambda: _local_contrast(crop), lambda: big,
                    lambda: big.filter(ImageFilter.UnsharpMask(radius=3, percent=160, threshold=0)),
                    lambda: ImageOps.autocontrast(big, cutoff=2))
        for make in variants:
            found = [c for c in self._read(np.asarray(make())) if c.valid]
            if found or not in_budget():
                return found
        return []


def _local_contrast(img, radius: int = 12):
    """Each pixel against its neighbourhood's mean, stretched: what uneven light, glare and a dim
    doorway leave of a code's contrast, made even across it."""
    from PIL import Image, ImageFilter

    a = np.asarray(img, dtype=np.int16)
    mean = np.asarray(img.filter(ImageFilter.BoxBlur(radius)), dtype=np.int16)
    diff = a - mean
    scale = 60.0 / (float(diff.std()) + 1.0)
    return Image.fromarray(np.clip(128 + diff * scale, 0, 255).astype(np.uint8))


def _union(boxes: list[tuple[int, int, int, int]], shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    return x0, y0, x1, y1


def _box_of(position, shape: tuple[int, ...], margin: float = 0.6) -> tuple[int, int, int, int]:
    """The region around a detected (undecoded) symbol, with a margin for its quiet zone."""
    xs = [p.x for p in (position.top_left, position.top_right, position.bottom_left, position.bottom_right)]
    ys = [p.y for p in (position.top_left, position.top_right, position.bottom_left, position.bottom_right)]
    pad = margin * max(max(xs) - min(xs), max(ys) - min(ys), 40)
    h, w = shape[:2]
    return (max(0, int(min(xs) - pad)), max(0, int(min(ys) - pad)),
            min(w, int(max(xs) + pad)), min(h, int(max(ys) + pad)))


BLOCK = 8  # locator cells of 8x8 quarter-size pixels: 32 px of the frame
MAX_REGION = 384  # a region is at most this many frame pixels a side (2x: 768, about a frame's work)


EDGE = 16  # a step of this many grey levels between quarter-size pixels is an edge
DENSE = 0.7  # a cell this full of edges may be a code: the synthetic door scenes' busiest cells
# (walls, shapes, lines, clothes) stay under it, nine in ten codes' reach 0.8


def busy_regions(grey: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Where the frame is dense with edges as only a code is, standing out from the rest of the
    frame: [box] around the densest cell's neighbourhood, or [] (most frames a door camera sees)."""
    small = grey[::4, ::4].astype(np.int16)
    edges = (np.abs(np.diff(small, axis=1))[:-1, :] + np.abs(np.diff(small, axis=0))[:, :-1]) > EDGE
    bh, bw = edges.shape[0] // BLOCK, edges.shape[1] // BLOCK
    if bh < 3 or bw < 3:
        return []
    cells = edges[:bh * BLOCK, :bw * BLOCK].reshape(bh, BLOCK, bw, BLOCK).mean(axis=(1, 3))
    peak = float(cells.max())
    if peak < DENSE or float(np.median(cells)) > 0.6 * peak:  # nothing dense, or noise everywhere
        return []
    cy, cx = np.unravel_index(int(cells.argmax()), cells.shape)
    reach = MAX_REGION // (4 * BLOCK) // 2
    y0, y1 = max(0, cy - reach), min(bh, cy + reach + 1)
    x0, x1 = max(0, cx - reach), min(bw, cx + reach + 1)
    hot = np.argwhere(cells[y0:y1, x0:x1] >= 0.85 * DENSE)
    ry0, rx0 = hot.min(axis=0) + (y0, x0)
    ry1, rx1 = hot.max(axis=0) + (y0, x0)
    s = 4 * BLOCK
    h, w = grey.shape[:2]
    return [(max(0, int(rx0 - 1) * s), max(0, int(ry0 - 1) * s),
             min(w, int(rx1 + 2) * s), min(h, int(ry1 + 2) * s))]


def _undo_zbar_charset_guess(text: str) -> str:
    """zbar guesses a legacy charset (Shift-JIS, Big5, GB, ISO-8859-1) for some UTF-8 payloads,
    mostly short ones; encoding back with the guessed charset recovers the UTF-8 bytes."""
    for wrong in ("shift_jis", "big5", "gb18030", "euc_kr", "latin-1", "cp1252"):
        try:
            fixed = text.encode(wrong).decode("utf-8")
        except UnicodeError:
            continue
        if fixed != text:
            return fixed
    return text


class ZbarDecoder:
    """pyzbar (libzbar0) restricted to QR codes, with zbar's charset guess undone."""

    name = "zbar"

    def __init__(self, try_inverted: bool = True):
        from pyzbar import pyzbar

        self._zbar = pyzbar
        self._symbols = [pyzbar.ZBarSymbol.QRCODE]
        self._try_inverted = try_inverted

    def _scan(self, grey: np.ndarray) -> list:
        h, w = grey.shape[:2]
        return self._zbar.decode((np.ascontiguousarray(grey).tobytes(), w, h), symbols=self._symbols)

    def decode(self, grey: np.ndarray) -> list[Decoded]:
        found = self._scan(grey)
        if not found and self._try_inverted:
            found = self._scan(255 - grey)  # zbar reads only dark-on-light codes
        out = []
        for code in found:
            text = _undo_zbar_charset_guess(code.data.decode("utf-8", "replace"))
            out.append(Decoded(text.encode("utf-8"), text))
        return out


class DecoderError(UserError):
    """The chosen decoder library is missing."""


def make_decoder(name: str) -> Decoder:
    try:
        if name == "zxing":
            return ZxingDecoder()
        if name == "zbar":
            return ZbarDecoder()
    except ImportError as exc:
        hint = "install libzbar0 (apt)" if name == "zbar" else "pip install zxing-cpp"
        raise DecoderError(f"decoder {name} is not available ({exc}); {hint}") from exc
    raise DecoderError(f"unknown decoder {name!r}; choose one of {', '.join(NAMES)}")
