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
       uneven light), enlarged up to 2x (bicubic: modules of 1.5 to 3 px become readable),
       sharpened (motion and defocus blur), contrast-stretched. Then, a code being there, the
       whole frame enlarged 1.5x, and zbar on it. The first that reads wins.
    4. A step starts only if, at what this frame's first pass cost a pixel, it would end within
       `budget_ms`: the scan loop keeps its rate on a slow Pi, and a code that needs more is read
       from the next, steadier frame.
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
        grey = np.ascontiguousarray(grey)
        found = self._read(grey, return_errors=self._fallback)
        valid = [c for c in found if c.valid]
        if not valid and self._fallback:
            # This frame's first pass tells what a pixel costs on this machine: each heavier step
            # starts only if its estimated cost still ends within the budget.
            ns_per_px = (time.monotonic_ns() - started) / grey.size
            # zxing's failed reads are often pieces of one code (a finder pattern or two): the
            # region that holds them all, with room for the rest of the code.
            boxes = (_box_of(c.position, grey.shape) for c in found)
            pieces = [b for b in boxes if min(b[2] - b[0], b[3] - b[1]) >= 40]  # not specks of noise
            regions = [_union(pieces)] if pieces else []
            if not regions:
                valid = self._read(grey, try_downscale=False, binarizer=self._zx.Binarizer.GlobalHistogram)
                regions = [] if valid else busy_regions(grey)
            if regions and not valid:
                for cost, step in self._steps(grey, regions[0]):
                    if time.monotonic_ns() - started + cost * ns_per_px > self._budget_ns:
                        break
                    read = step()
                    if read:
                        return read
        return [_decoded(c) for c in valid]

    def _steps(self, grey: np.ndarray, box: tuple[int, int, int, int]):
        """(estimated cost in first-pass pixels, step) from the cheapest: the region's crop
        equalised, locally stretched, enlarged (bicubic, to at most ENLARGED px a side), sharpened,
        contrast-stretched; then the whole frame enlarged 1.5x and sharpened; then zbar on it."""
        from PIL import Image, ImageFilter, ImageOps

        x0, y0, x1, y1 = box
        crop = Image.fromarray(grey[y0:y1, x0:x1])
        area = crop.width * crop.height
        scale = min(2.0, ENLARGED / max(crop.width, crop.height))
        big_area = area * scale * scale
        enlarged = grey.size * 2.25
        cache: dict[str, Image.Image] = {}

        def big() -> Image.Image:
            if "big" not in cache:
                cache["big"] = crop.resize((int(crop.width * scale), int(crop.height * scale)),
                                           Image.Resampling.BICUBIC)
            return cache["big"]

        def frame_big() -> Image.Image:
            if "frame" not in cache:
                img = Image.fromarray(grey)
                cache["frame"] = img.resize((img.width * 3 // 2, img.height * 3 // 2), Image.Resampling.BICUBIC)
            return cache["frame"]

        def zxing(make: Callable[[], Image.Image]) -> Callable[[], list[Decoded]]:
            return lambda: [_decoded(c) for c in self._read(np.asarray(make())) if c.valid]

        yield 1.5 * area, zxing(lambda: ImageOps.equalize(crop))
        yield 2.5 * area, zxing(lambda: _local_contrast(crop))
        if scale >= 1.2:
            yield 1.5 * big_area, zxing(big)
            yield 3.0 * big_area, zxing(lambda: big().filter(ImageFilter.UnsharpMask(radius=3, percent=160,
                                                                                      threshold=0)))
            yield 1.5 * big_area, zxing(lambda: ImageOps.autocontrast(big(), cutoff=2))
        yield 1.5 * enlarged, zxing(frame_big)
        yield 3.0 * enlarged, zxing(lambda: frame_big().filter(ImageFilter.UnsharpMask(radius=3, percent=120,
                                                                                        threshold=0)))
        if self._zbar is not None:
            # zbar's line scanner reads some codes zxing's detector cannot place (perspective and
            # blur together, a code cut by the frame's edge): the other library, last.
            zbar = self._zbar
            yield 10.0 * grey.size, lambda: zbar.decode(grey)


def _decoded(code) -> Decoded:
    raw = bytes(code.bytes)
    return Decoded(raw, _utf8_or(raw, code.text))


ENLARGED = 900  # a region is enlarged to at most this many pixels a side


def _local_contrast(img, radius: int = 12):
    """Each pixel against its neighbourhood's mean, stretched: what uneven light, glare and a dim
    doorway leave of a code's contrast, made even across it."""
    from PIL import Image, ImageFilter

    a = np.asarray(img, dtype=np.int16)
    mean = np.asarray(img.filter(ImageFilter.BoxBlur(radius)), dtype=np.int16)
    diff = a - mean
    scale = 60.0 / (float(diff.std()) + 1.0)
    return Image.fromarray(np.clip(128 + diff * scale, 0, 255).astype(np.uint8))


def _union(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
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
