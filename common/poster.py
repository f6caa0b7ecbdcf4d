"""The printable checkpoint poster (A4, PNG and PDF): name, address, the checkpoint QR, how to check in."""

from __future__ import annotations

import io
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from common.fonts import find_font, nfc
from protocol.checkpoint import checkpoint_qr_text

DPI = 150
A4 = (1240, 1754)  # at 150 dpi

# For every checkpoint, with or without a gate at its door.
STEPS = [
    "Quét mã QR bên trên bằng camera điện thoại, chọn người và bấm Check-in "
    "(lần đầu: khai báo y tế bằng số điện thoại).",
    "Không có điện thoại: đưa thẻ QR đã in hoặc CCCD gắn chip cho nhân viên, "
    "hoặc vào camera của máy quét nếu có (đèn xanh, tiếng bíp: đã ghi nhận).",
    "Khi ra về, làm lại như vậy để check-out.",
]


def _bold(path: str) -> str:
    bold = Path(path).with_name("DejaVuSans-Bold.ttf")
    return str(bold) if bold.exists() else path


def _wrap(draw, text: str, font, width: int, most: int | None = None) -> list[str]:
    """Lines of `text` at most `width` wide and at most `most` of them: a word wider than a line is
    broken (it ran off the poster), and text cut short ends in "…" (it was cut without a sign)."""
    lines, line = [], ""
    for word in nfc(text).split():
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) <= width:
            line = trial
            continue
        if line:
            lines.append(line)
        line = word
        while draw.textlength(line, font=font) > width:
            cut = len(line) - 1
            while cut > 1 and draw.textlength(line[:cut], font=font) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    lines += [line] if line else []
    if most is not None and len(lines) > most:
        last = lines[most - 1]
        while last and draw.textlength(last + "…", font=font) > width:
            last = last[:-1].rstrip()
        lines = lines[:most - 1] + [last + "…"]
    return lines


def render_poster(checkpoint_id: str, name: str, address: str = "", phone: str = "", unit: str = "",
                  portal_url: str = "",
                  font_path: str = "") -> Image.Image:
    regular = find_font(font_path)
    bold = _bold(regular)
    img = Image.new("RGB", A4, "white")
    d = ImageDraw.Draw(img)
    w, _ = A4
    margin = 90
    f = lambda px, b=False: ImageFont.truetype(bold if b else regular, px)  # noqa: E731
    d.rectangle((0, 0, w, 170), fill=(0, 110, 70))
    d.text((w // 2, 60), "ĐIỂM KIỂM DỊCH", font=f(64, True), fill="white", anchor="mm")
    d.text((w // 2, 130), "CHECK-IN / CHECK-OUT Y TẾ", font=f(40), fill="white", anchor="mm")
    y = 210
    for line in _wrap(d, name, f(58, True), w - 2 * margin, most=3):
        d.text((w // 2, y), line, font=f(58, True), fill="black", anchor="ma")
        y += 72
    # the unit once: not again where the place is named after it (a unit that registered itself)
    unit = "" if unit.strip().casefold() in name.casefold() else unit
    for text in (address, unit, f"Liên hệ: {phone}" if phone else ""):
        for line in _wrap(d, text, f(32), w - 2 * margin, most=2):
            d.text((w // 2, y), line, font=f(32), fill=(60, 60, 60), anchor="ma")
            y += 42
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(checkpoint_qr_text(checkpoint_id, portal_url))
    qr.make(fit=True)
    code = qr.make_image().get_image().convert("RGB")
    side = 640
    code = code.resize((side, side), Image.Resampling.NEAREST)
    y += 20
    img.paste(code, ((w - side) // 2, y))
    y += side + 10
    d.text((w // 2, y), f"Mã điểm: {checkpoint_id}", font=f(34, True), fill="black", anchor="ma")
    y += 70
    d.text((margin, y), "Hướng dẫn", font=f(40, True), fill=(0, 110, 70))
    y += 60
    for i, step in enumerate(STEPS, 1):
        lines = _wrap(d, step, f(30), w - 2 * margin - 50)
        d.text((margin, y), f"{i}.", font=f(30, True), fill="black")
        for line in lines:
            d.text((margin + 50, y), line, font=f(30), fill="black")
            y += 40
        y += 12
    return img


def poster_bytes(checkpoint_id: str, name: str, address: str, phone: str, unit: str, fmt: str,
                 portal_url: str = "") -> tuple[bytes, str]:
    """The poster as PNG or PDF bytes, with its content type; ValueError for another format."""
    if fmt not in ("png", "pdf"):
        raise ValueError(f"no poster format {fmt!r}")
    buf = io.BytesIO()
    img = render_poster(checkpoint_id, name, address, phone, unit, portal_url=portal_url)
    if fmt == "png":
        img.save(buf, "PNG", dpi=(DPI, DPI))
    else:
        img.save(buf, "PDF", resolution=DPI)
    return buf.getvalue(), "image/png" if fmt == "png" else "application/pdf"


def write_poster(out: Path, checkpoint_id: str, name: str, address: str = "", phone: str = "",
                 unit: str = "", portal_url: str = "") -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    img = render_poster(checkpoint_id, name, address, phone, unit, portal_url=portal_url)
    png, pdf = out / f"poster-{checkpoint_id}.png", out / f"poster-{checkpoint_id}.pdf"
    img.save(png, dpi=(DPI, DPI))
    img.save(pdf, "PDF", resolution=DPI)
    return png, pdf


def declaration_qr(token: str, name: str, declaration_id: str) -> Image.Image:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(token)
    qr.make(fit=True)
    code = qr.make_image().get_image().convert("RGB")
    font = ImageFont.truetype(find_font(), 26)
    img = Image.new("RGB", (code.width, code.height + 90), "white")
    img.paste(code, (0, 0))
    d = ImageDraw.Draw(img)
    d.text((img.width // 2, code.height + 5), name, font=font, fill="black", anchor="ma")
    d.text((img.width // 2, code.height + 45), declaration_id, font=font, fill=(80, 80, 80), anchor="ma")
    return img
