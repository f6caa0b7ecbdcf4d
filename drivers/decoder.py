"""QR decoders (zxing-cpp, pyzbar) behind one interface; raw bytes kept, UTF-8 decoded right."""

from __future__ import annotations

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
    """zxing-cpp restricted to QR codes; the gate's default.

    try_rotate is off: zxing's QR detector finds codes at any angle by itself, and the flag only
    helps linear barcodes (same reads, about 5% less time on the benchmark frames). When the
    default local-average binarizer finds nothing, one quick pass with the global histogram
    binarizer at full size only reads some glare-washed and unevenly lit codes; it runs only on
    frames that held nothing readable.
    """

    name = "zxing"

    def __init__(self, fallback: bool = True):
        import zxingcpp

        self._zx = zxingcpp
        self._formats = zxingcpp.BarcodeFormat.QRCode
        self._fallback = fallback

    def decode(self, grey: np.ndarray) -> list[Decoded]:
        grey = np.ascontiguousarray(grey)
        found = self._zx.read_barcodes(grey, formats=self._formats, try_rotate=False)  # type: ignore[arg-type]
        if not found and self._fallback:
            found = self._zx.read_barcodes(grey, formats=self._formats, try_rotate=False,  # type: ignore[arg-type]
                                           try_downscale=False,
                                           binarizer=self._zx.Binarizer.GlobalHistogram)
        out = []
        for code in found:
            raw = bytes(code.bytes)
            out.append(Decoded(raw, _utf8_or(raw, code.text)))
        return out


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
