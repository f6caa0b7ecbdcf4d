"""A second frame generator, independent of `sim/frames.py`: a phone or door camera's view of a
code, built with OpenCV where that one uses PIL, with the effects of real cameras. The gate's
decoder was tuned on `sim/frames.py`'s frames and never on these, so these give held-out figures.

Effects, each drawn at random per frame:
- paper curved over a hand or a lanyard;
- perspective of up to about 35 degrees;
- glare on a phone's glass or a laminated card;
- a finger over a corner;
- defocus as a disc (a lens's blur), not a Gaussian;
- directional motion blur;
- rolling shutter (rows read out while the hand moves);
- too little light, with shot noise and read noise lifted by the sensor's gain;
- JPEG at a phone camera's quality;
- small, dense chip ID card (CCCD) codes among the tokens."""

from __future__ import annotations

import random

import cv2
import numpy as np
import qrcode

WIDTH, HEIGHT = 640, 480
EC = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
      "Q": qrcode.constants.ERROR_CORRECT_Q}


def modules(text: str, ec: str = "M") -> np.ndarray:
    """The code's modules, one pixel each, with its quiet zone: 0 dark, 255 light."""
    qr = qrcode.QRCode(error_correction=EC[ec], border=4)
    qr.add_data(text)
    qr.make(fit=True)
    return np.where(np.array(qr.get_matrix(), dtype=bool), 0, 255).astype(np.uint8)


def _scene(rng: random.Random, nrng: np.random.Generator) -> np.ndarray:
    """A door's background: a lit gradient with blotches (a wall, a coat, a counter)."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    base = rng.uniform(40, 170) + rng.uniform(-50, 50) * x / WIDTH + rng.uniform(-40, 40) * y / HEIGHT
    blotches = cv2.resize(nrng.normal(0, 25, (6, 8)).astype(np.float32), (WIDTH, HEIGHT),
                          interpolation=cv2.INTER_CUBIC)
    return np.clip(base + blotches, 0, 255).astype(np.float32)


def _curve(img: np.ndarray, amount: float) -> np.ndarray:
    """Paper bent around a vertical axis: rows bow up or down across the width."""
    h, w = img.shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    map_y = y + amount * h * np.sin(np.pi * x / max(w - 1, 1)).astype(np.float32)
    return cv2.remap(img, x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _disc(radius: float) -> np.ndarray:
    size = int(np.ceil(radius)) * 2 + 1
    y, x = np.mgrid[:size, :size] - size // 2
    kernel = (x * x + y * y <= radius * radius).astype(np.float32)
    return kernel / kernel.sum()


def _line(length: float, angle: float) -> np.ndarray:
    size = int(np.ceil(length)) | 1
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    dx, dy = np.cos(np.radians(angle)) * length / 2, np.sin(np.radians(angle)) * length / 2
    cv2.line(kernel, (int(round(c - dx)), int(round(c - dy))), (int(round(c + dx)), int(round(c + dy))), 1.0, 1)
    return kernel / max(kernel.sum(), 1.0)


def camera_frame(code: np.ndarray | None, rng: random.Random, module_px: float = 3.0) -> np.ndarray:
    """One 640x480 grey frame: the code (from `modules`, or None for a frame without one) as a
    camera takes it."""
    nrng = np.random.default_rng(rng.getrandbits(32))
    scene = _scene(rng, nrng)
    if code is not None:
        side = int(code.shape[0] * module_px)
        low, high = rng.uniform(0, 70), rng.uniform(150, 250)
        flat = cv2.resize(code, (side, side), interpolation=cv2.INTER_NEAREST).astype(np.float32)
        flat = low + (high - low) * flat / 255.0
        if rng.random() < 0.1:  # a phone in dark mode
            flat = high + low - flat
        if rng.random() < 0.35:
            flat = _curve(flat, rng.uniform(0.02, 0.07) * rng.choice([-1, 1]))
        # Where its corners land: a random place, turn and tilt (up to about 35 degrees).
        cx, cy = rng.uniform(side * 0.6, WIDTH - side * 0.6), rng.uniform(side * 0.6, HEIGHT - side * 0.6)
        turn = np.radians(rng.uniform(-35, 35))
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float32) * side / 2
        tilt = rng.uniform(0, 0.3) if rng.random() < 0.5 else rng.uniform(0, 0.08)
        edge = rng.randrange(4)
        corners[edge] *= 1 - tilt
        corners[(edge + 1) % 4] *= 1 - tilt
        rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]], np.float32)
        dst = corners @ rot.T + np.array([cx, cy], np.float32)
        src = np.array([[0, 0], [side - 1, 0], [side - 1, side - 1], [0, side - 1]], np.float32)
        warp = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
        placed = cv2.warpPerspective(flat, warp, (WIDTH, HEIGHT), flags=cv2.INTER_AREA, borderValue=-1)
        mask = cv2.warpPerspective(np.ones_like(flat), warp, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR)
        scene = scene * (1 - mask) + np.where(placed < 0, 0, placed) * mask
        if rng.random() < 0.25:  # glare on glass or lamination: a bright ellipse that saturates
            g = np.zeros_like(scene)
            gx, gy = dst[rng.randrange(4)] * 0.5 + np.array([cx, cy]) * 0.5
            cv2.ellipse(g, (int(gx), int(gy)), (int(side * rng.uniform(0.1, 0.3)), int(side * rng.uniform(0.05, 0.15))),
                        rng.uniform(0, 180), 0, 360, 255 * rng.uniform(0.5, 1.0), -1)
            scene = scene + cv2.GaussianBlur(g, (0, 0), side * 0.04 + 1)
        if rng.random() < 0.2:  # a finger over a corner
            fx, fy = dst[rng.randrange(4)]
            cv2.ellipse(scene, (int(fx), int(fy)), (int(side * 0.12), int(side * 0.3)), rng.uniform(0, 180), 0, 360,
                        rng.uniform(90, 160), -1)
    # Optics: defocus as a disc, a hand's motion along a line.
    if rng.random() < 0.4:
        scene = cv2.filter2D(scene, -1, _disc(rng.uniform(0.8, 2.6)))
    if rng.random() < 0.35:
        scene = cv2.filter2D(scene, -1, _line(rng.uniform(3, 10), rng.uniform(0, 180)))
    if rng.random() < 0.25:  # rolling shutter: each row read a little later, the hand moving on
        skew = rng.uniform(-0.06, 0.06)
        y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
        scene = cv2.remap(scene, x + skew * y, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # The sensor: too little light gathered, shot and read noise, then the gain that lifts it all.
    light = rng.uniform(0.2, 0.45) if rng.random() < 0.25 else rng.uniform(0.8, 1.0)
    electrons = nrng.poisson(np.clip(scene * light, 0, None) * 4) / 4.0
    raw = electrons + nrng.normal(0, rng.uniform(0.5, 2.0), scene.shape)
    frame = np.clip(raw / light, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(65, 90)])
    return cv2.imdecode(jpeg, cv2.IMREAD_GRAYSCALE)
