"""QR decoders (zxing-cpp, pyzbar) behind one interface; raw bytes kept, UTF-8 decoded right."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

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
    """zxing-cpp restricted to QR codes; the gate's default."""

    name = "zxing"

    def __init__(self, try_harder: bool = True):
        import zxingcpp

        self._zx = zxingcpp
        self._formats = zxingcpp.BarcodeFormat.QRCode
        self._try_harder = try_harder

    def decode(self, grey: np.ndarray) -> list[Decoded]:
        found = self._zx.read_barcodes(
            np.ascontiguousarray(grey), formats=self._formats,
            try_rotate=self._try_harder, try_downscale=self._try_harder, try_invert=True)
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


class DecoderError(RuntimeError):
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
