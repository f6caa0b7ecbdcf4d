"""Synthetic camera frames of real QR codes: phone screens, paper, cards, as a camera sees them."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import qrcode
from PIL import Image, ImageFilter

FRAME_SIZE = (640, 480)


def render_qr(text: str, box: int = 4, border: int = 4, ec: str = "M") -> Image.Image:
    """The QR code for `text` (UTF-8 in byte mode, or alphanumeric where it fits) as grey."""
    levels = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
              "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}
    qr = qrcode.QRCode(error_correction=levels[ec], box_size=box, border=border)
    qr.add_data(text)
    qr.make(fit=True)
    return qr.make_image(fill_color="black", back_color="white").get_image().convert("L")


@dataclass(frozen=True)
class Shot:
    """How the code is held: size on the frame, angle, tilt, focus, light."""

    size: int = 240  # side of the code on the frame, pixels
    angle: float = 0.0  # degrees
    tilt: float = 0.0  # 0..0.3: perspective, fraction of the side
    blur: float = 0.0  # Gaussian radius, pixels
    low: int = 0  # darkest level of the code
    high: int = 255  # lightest level of the code
    invert: bool = False  # dark mode screen: light modules on dark
    background: int = 90
    noise: float = 0.0  # sensor noise, standard deviation in grey levels
    dx: int = 0
    dy: int = 0


def _perspective_coeffs(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> list:
    """PIL's PERSPECTIVE coefficients mapping output points `dst` back to input points `src`."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return list(np.linalg.solve(np.array(rows, float), np.array(rhs, float)))


def compose(code: Image.Image, shot: Shot, seed: int = 0) -> np.ndarray:
    """One 640x480 grey frame showing `code` as `shot` describes."""
    rng = random.Random(seed)
    w, h = FRAME_SIZE
    img = code.resize((shot.size, shot.size), Image.NEAREST)
    if shot.invert:
        img = Image.eval(img, lambda p: 255 - p)
    span = shot.high - shot.low
    img = Image.eval(img, lambda p: shot.low + p * span // 255)
    # A white-ish mask marks the code's own pixels so rotation leaves the background alone.
    mask = Image.new("L", img.size, 255)
    if shot.angle:
        img = img.rotate(shot.angle, resample=Image.BILINEAR, expand=True, fillcolor=shot.background)
        mask = mask.rotate(shot.angle, resample=Image.BILINEAR, expand=True, fillcolor=0)
    if shot.tilt:
        s = img.size
        t = shot.tilt
        corners = [(0, 0), (s[0], 0), (s[0], s[1]), (0, s[1])]
        moved = [(s[0] * t * rng.uniform(0, 1), s[1] * t * rng.uniform(0, 0.5)),
                 (s[0] * (1 - t * rng.uniform(0, 1)), s[1] * t * rng.uniform(0, 0.5)),
                 (s[0], s[1]), (0, s[1])]
        coeffs = _perspective_coeffs(corners, moved)
        img = img.transform(s, Image.PERSPECTIVE, coeffs, Image.BILINEAR, fillcolor=shot.background)
        mask = mask.transform(s, Image.PERSPECTIVE, coeffs, Image.BILINEAR, fillcolor=0)
    frame = Image.new("L", FRAME_SIZE, shot.background)
    x = (w - img.size[0]) // 2 + shot.dx
    y = (h - img.size[1]) // 2 + shot.dy
    frame.paste(img, (x, y), mask)
    if shot.blur:
        frame = frame.filter(ImageFilter.GaussianBlur(shot.blur))
    arr = np.asarray(frame, dtype=np.float32)
    if shot.noise:
        arr = arr + np.random.default_rng(seed).normal(0, shot.noise, arr.shape)
    return np.clip(arr, 0, 255).astype(np.uint8)


def hard_shot(rng: random.Random) -> Shot:
    """A randomly difficult shot, the mix a door camera meets: some are beyond any decoder."""
    low = rng.randint(0, 110)
    return Shot(
        size=rng.randint(90, 330),
        angle=rng.uniform(-180, 180),
        tilt=rng.choice([0.0, rng.uniform(0.05, 0.35)]),
        blur=rng.choice([0.0, rng.uniform(0.5, 3.2)]),
        low=low,
        high=rng.randint(min(low + 35, 255), 255),
        invert=rng.random() < 0.25,
        background=rng.randint(20, 200),
        noise=rng.choice([0.0, rng.uniform(2, 14)]),
        dx=rng.randint(-120, 120),
        dy=rng.randint(-60, 60),
    )


def save_frame(grey: np.ndarray, path) -> None:
    Image.fromarray(grey, "L").save(path)
