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
    # A door camera's troubles: a hand moving (blur along a line), a finger over the code, a
    # screen's glare, too little light (the sensor's gain lifts the noise with it).
    motion: float = 0.0  # length of the motion blur, pixels
    motion_angle: float = 0.0  # its direction, degrees
    finger: float = 0.0  # share of the code's side a finger covers from one edge
    glare: float = 0.0  # 0..1: strength of a bright spot over part of the code
    light: float = 1.0  # scene brightness, 1 = well lit
    area_resample: bool = False  # sample the code as a sensor does (modules of 1.5 px blend)


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
    img = code.resize((shot.size, shot.size), Image.BOX if shot.area_resample else Image.NEAREST)
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
    box = (x, y, x + img.size[0], y + img.size[1])
    if shot.finger:
        frame = _finger(frame, box, shot.finger, rng)
    arr = np.asarray(frame, dtype=np.float32)
    if shot.glare:
        arr = _glare(arr, box, shot.glare, rng)
    if shot.motion >= 1:
        arr = _motion_blur(arr, shot.motion, shot.motion_angle)
    if shot.blur:
        arr = np.asarray(Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).filter(
            ImageFilter.GaussianBlur(shot.blur)), dtype=np.float32)
    noise_rng = np.random.default_rng(seed)
    if shot.light < 1:
        # Too few photons: the picture is dark, and the sensor's gain brings shot noise with it.
        arr = arr * shot.light
        arr = arr + noise_rng.normal(0, 1, arr.shape) * np.sqrt(np.maximum(arr, 1) * (1 - shot.light) * 2)
    if shot.noise:
        arr = arr + noise_rng.normal(0, shot.noise, arr.shape)
    return np.clip(arr, 0, 255).astype(np.uint8)


def _finger(frame: Image.Image, box: tuple[int, int, int, int], share: float, rng: random.Random) -> Image.Image:
    """A fingertip over one edge of the code: a rounded, evenly lit blob of skin."""
    from PIL import ImageDraw

    x0, y0, x1, y1 = box
    side = x1 - x0
    depth = int(side * share)
    width = int(side * rng.uniform(0.18, 0.3))
    along = rng.randint(x0, max(x0, x1 - width))
    draw = ImageDraw.Draw(frame)
    tone = rng.randint(120, 185)
    edge = rng.choice(["top", "bottom", "left", "right"])
    if edge in ("top", "bottom"):
        top = y0 - width if edge == "top" else y1 - depth
        shape = (along, top, along + width, top + depth + width)
    else:
        along = rng.randint(y0, max(y0, y1 - width))
        left = x0 - width if edge == "left" else x1 - depth
        shape = (left, along, left + depth + width, along + width)
    draw.rounded_rectangle(shape, radius=width // 2, fill=tone)
    return frame


def _glare(arr: np.ndarray, box: tuple[int, int, int, int], strength: float, rng: random.Random) -> np.ndarray:
    """A reflection on a phone screen: a bright soft spot that washes the modules out."""
    x0, y0, x1, y1 = box
    cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
    r = (x1 - x0) * rng.uniform(0.12, 0.3)
    yy, xx = np.mgrid[0:arr.shape[0], 0:arr.shape[1]]
    spot = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)))
    return arr + spot * 255 * strength * 1.5


def _motion_blur(arr: np.ndarray, length: float, angle: float) -> np.ndarray:
    """The frame averaged along a line: a code moving during the exposure."""
    n = max(2, int(round(length)))
    dx, dy = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    acc = np.zeros_like(arr)
    for i in range(n):
        t = i - (n - 1) / 2
        acc += np.roll(arr, (int(round(t * dy)), int(round(t * dx))), axis=(0, 1))
    return acc / n


def door_shot(rng: random.Random, modules: int) -> Shot:
    """What a door camera sees when someone holds up a code of `modules` modules a side: the
    conditions that make codes hard, mixed as they come (modules of 1.5 to 3 px, motion and
    defocus blur, low light, tilt up to 40 degrees, glare, a finger over the code)."""
    module_px = rng.uniform(1.5, 3.0) if rng.random() < 0.5 else rng.uniform(3.0, 6.0)
    low = rng.randint(0, 60)
    trouble = rng.sample(["motion", "defocus", "dark", "tilt", "glare", "finger"], k=rng.choice([1, 1, 2, 2, 3]))
    return Shot(
        size=int((modules + 8) * module_px),
        angle=rng.uniform(-30, 30),
        tilt=rng.uniform(0.2, 0.45) if "tilt" in trouble else rng.uniform(0, 0.1),
        blur=rng.uniform(0.8, 2.2) if "defocus" in trouble else rng.uniform(0, 0.6),
        low=low,
        high=rng.randint(max(low + 80, 170), 255),
        invert=rng.random() < 0.1,
        background=rng.randint(30, 180),
        noise=rng.uniform(1, 4),
        dx=rng.randint(-100, 100),
        dy=rng.randint(-60, 60),
        motion=rng.uniform(3, 12) if "motion" in trouble else 0.0,
        motion_angle=rng.uniform(0, 180),
        finger=rng.uniform(0.08, 0.2) if "finger" in trouble else 0.0,
        glare=rng.uniform(0.4, 0.9) if "glare" in trouble else 0.0,
        light=rng.uniform(0.12, 0.4) if "dark" in trouble else 1.0,
        area_resample=True,
    )


def empty_frame(rng: random.Random, seed: int = 0) -> np.ndarray:
    """A door with nobody holding a code: walls, a doorway, shapes and clothes, sensor noise."""
    from PIL import ImageDraw

    w, h = FRAME_SIZE
    base = rng.randint(40, 200)
    frame = Image.new("L", FRAME_SIZE, base)
    draw = ImageDraw.Draw(frame)
    for _ in range(rng.randint(3, 12)):
        x0, y0 = rng.randint(-50, w), rng.randint(-50, h)
        x1, y1 = x0 + rng.randint(20, 300), y0 + rng.randint(20, 300)
        fill = rng.randint(0, 255)
        (draw.rectangle if rng.random() < 0.6 else draw.ellipse)((x0, y0, x1, y1), fill=fill)
    for _ in range(rng.randint(0, 20)):  # text on a notice, stripes on a shirt
        x, y = rng.randint(0, w), rng.randint(0, h)
        draw.line((x, y, x + rng.randint(-80, 80), y + rng.randint(-80, 80)), fill=rng.randint(0, 255),
                  width=rng.randint(1, 4))
    arr = np.asarray(frame.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.5))), dtype=np.float32)
    arr = arr * rng.uniform(0.3, 1.0) + np.random.default_rng(seed).normal(0, rng.uniform(1, 6), arr.shape)
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
