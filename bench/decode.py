"""Decoding near the limit: the gate's pipeline against bare zxing-cpp, pyzbar, OpenCV's detectors
and the WeChat detector, on two hard frame sets, as a share of what any of them can read.

Set "hard": 640x480 grey shots of real tokens, rotated, tilted, blurred, low-contrast, dark-mode,
noisy, small. Set "door": what a door camera sees: motion and defocus blur, low light with sensor
noise, modules of 1.5 to 3 px, tilt up to 40 degrees, glare, a finger over the code, dense ID-card
codes (version 10 at level M or L), and empty frames. The oracle of a set is every frame that any
method read, zxing-cpp after simple preprocessing included. Presentations: a code moving into
view at 15 frames a second with changing blur and glare, about a second long; the share read
within 300 ms and the median time to the beep. `pipeline_cpu_3x_slower`: the gate's pipeline
with the steps a CPU three times slower (a Pi 4, roughly) fits in the same budget. Prints one JSON
line.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from drivers.decoder import ZxingDecoder, make_decoder  # noqa: E402
from protocol.token import issue_token  # noqa: E402
from sim.camera import camera_frame, modules  # noqa: E402
from sim.frames import Shot, compose, door_shot, empty_frame, hard_shot, render_qr  # noqa: E402

NAMES = ["Nguyễn Thị Vân Anh", "Trần Văn Bình", "Lê Hoàng Phúc", "Phạm Minh Châu", "Đặng Thu Hà",
         "Võ Thị Mai", "Hoàng Văn Đức", "Bùi Ngọc Ánh", "Tôn Nữ Thị Hoàng Phương"]
STREETS = ["Số 12 Đường Nguyễn Thị Minh Khai, Phường Bến Nghé, Quận 1, Thành phố Hồ Chí Minh",
           "Số 245/17 Đường Lê Văn Sỹ, Phường 13, Quận Phú Nhuận, Thành phố Hồ Chí Minh",
           "Thôn Đông Hạ, Xã Phú Thượng, Huyện Phú Vang, Tỉnh Thừa Thiên Huế, Việt Nam"]
FPS = 15
BEEP_MS = 300


def card_text(rng: random.Random) -> str:
    """A chip ID card's QR text, long enough for a version 10 code."""
    return (f"0792{rng.randint(10**7, 10**8 - 1)}|0251{rng.randint(10**4, 10**5 - 1)}|{rng.choice(NAMES)}|"
            f"{rng.randint(1, 28):02d}0{rng.randint(1, 9)}19{rng.randint(40, 99)}|Nữ|{rng.choice(STREETS)}|"
            f"{rng.randint(1, 28):02d}0{rng.randint(1, 9)}2021")


def payloads(n: int, rng: random.Random, key):
    for i in range(n):
        yield issue_token(key, f"VHD-2021-{i:06d}", rng.choice(NAMES), 1_630_000_000, 1_640_000_000)


def hard_set(n: int, seed: int, key) -> list[tuple[str | None, np.ndarray]]:
    rng = random.Random(seed)
    return [(tok, compose(render_qr(tok), hard_shot(rng), seed=seed * 1000 + i))
            for i, tok in enumerate(payloads(n, rng, key))]


def door_set(n: int, seed: int, key) -> list[tuple[str | None, np.ndarray]]:
    rng = random.Random(seed + 1)
    out: list[tuple[str | None, np.ndarray]] = []
    tokens = payloads(n, rng, key)
    for i in range(n):
        roll = rng.random()
        if roll < 0.15:
            out.append((None, empty_frame(rng, seed=seed * 7 + i)))
            continue
        if roll < 0.4:
            text, code = card_text(rng), None
            code = render_qr(text, box=1, border=4, ec=rng.choice("ML"))
        else:
            text = next(tokens)
            code = render_qr(text, box=1, border=4)
        modules = code.size[0] - 8
        out.append((text, compose(code, door_shot(rng, modules), seed=seed * 1000 + i)))
    return out


def camera_set(n: int, seed: int, key) -> list[tuple[str | None, np.ndarray]]:
    """Held out: frames from `sim/camera.py`, a generator the decoder was never tuned on (OpenCV,
    with JPEG, disc defocus, rolling shutter, gain noise, curved paper, glare, fingers); a third
    of them small dense CCCD codes, one in ten empty."""
    rng = random.Random(seed + 3)
    tokens = payloads(n, rng, key)
    out: list[tuple[str | None, np.ndarray]] = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.1:
            out.append((None, camera_frame(None, rng)))
        elif roll < 0.43:
            text = card_text(rng)
            out.append((text, camera_frame(modules(text, rng.choice("ML")), rng, rng.uniform(2.0, 3.2))))
        else:
            text = next(tokens)
            out.append((text, camera_frame(modules(text), rng, rng.uniform(2.2, 5.0))))
    return out


def presentations(n: int, seed: int, key) -> list[tuple[str, list[np.ndarray]]]:
    """A person holds a code up: it comes into view moving and blurred, settles, glare shifts."""
    rng = random.Random(seed + 2)
    out = []
    for text in payloads(n, rng, key):
        code = render_qr(text, box=1, border=4)
        base = door_shot(rng, code.size[0] - 8)
        start_dx, start_dy = rng.choice([-260, 260]), rng.randint(-120, 120)
        frames = []
        for f in range(FPS):  # one second
            settle = min(1.0, f / rng.uniform(3, 7))
            shot = Shot(**{**base.__dict__,
                           "dx": int(start_dx * (1 - settle) + base.dx * settle),
                           "dy": int(start_dy * (1 - settle) + base.dy * settle),
                           "motion": base.motion + 14 * (1 - settle),
                           "glare": base.glare * rng.uniform(0.3, 1.2)})
            frames.append(compose(code, shot, seed=seed * 5000 + len(out) * 50 + f))
        out.append((text, frames))
    return out


def methods(wechat_models: str | None) -> dict:
    import zxingcpp
    from pyzbar import pyzbar

    gate = make_decoder("zxing")
    # The steps a CPU three times slower would fit in the budget (each step's cost is judged from
    # the frame's first pass, so a third of the budget here makes the same choices there).
    slow = ZxingDecoder(budget_ms=40 / 3)
    qr = zxingcpp.BarcodeFormat.QRCode
    found: dict = {
        "pipeline": lambda g: [d.text for d in gate.decode(g)],
        "pipeline_cpu_3x_slower": lambda g: [d.text for d in slow.decode(g)],
        "zxing": lambda g: [b.text for b in zxingcpp.read_barcodes(g, formats=qr)],
    }

    def zbar(g):
        h, w = g.shape
        return [d.data.decode("utf-8", "replace")
                for d in pyzbar.decode((np.ascontiguousarray(g).tobytes(), w, h), symbols=[pyzbar.ZBarSymbol.QRCODE])]

    found["pyzbar"] = zbar
    try:
        import cv2
    except ImportError:
        return found
    def opencv(detector):
        def read(g):
            ok, texts, _, _ = detector.detectAndDecodeMulti(g)
            return [t for t in texts if t] if ok else []
        return read

    found["opencv"] = opencv(cv2.QRCodeDetector())
    if hasattr(cv2, "QRCodeDetectorAruco"):
        found["opencv_aruco"] = opencv(cv2.QRCodeDetectorAruco())
    if hasattr(cv2, "wechat_qrcode_WeChatQRCode"):
        files = [str(Path(wechat_models) / f) for f in ("detect.prototxt", "detect.caffemodel",
                                                          "sr.prototxt", "sr.caffemodel")] if wechat_models else []
        wechat = cv2.wechat_qrcode_WeChatQRCode(*files)
        found["wechat" + ("_cnn" if files else "")] = lambda g: list(wechat.detectAndDecode(g)[0])

    def zxing_upscaled(g):  # for the oracle: simple preprocessing ahead of zxing
        big = cv2.resize(g, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)
        sharp = cv2.addWeighted(big, 1.8, cv2.GaussianBlur(big, (0, 0), 2), -0.8, 0)
        out = [b.text for b in zxingcpp.read_barcodes(big, formats=qr)]
        return out or [b.text for b in zxingcpp.read_barcodes(sharp, formats=qr)]

    def zxing_equalised(g):
        eq = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(g)
        return [b.text for b in zxingcpp.read_barcodes(eq, formats=qr)]

    found["oracle_zxing_upscaled"] = zxing_upscaled
    found["oracle_zxing_equalised"] = zxing_equalised
    return {name: _safe(fn) for name, fn in found.items()}


def _safe(fn):
    """OpenCV's detectors raise on some frames (an assertion in kmeans): a read of nothing."""
    def call(g):
        try:
            return fn(g)
        except Exception:
            return []
    return call


def measure(fns: dict, shots, repeat: int) -> dict:
    """Per method: frames read, wrong texts, ms a frame (and on empty frames). Methods take turns
    on every frame, so a slow spell falls on all alike; the fastest of `repeat` passes counts."""
    n = len(shots)
    best = dict.fromkeys(fns, float("inf"))
    best_empty = dict.fromkeys(fns, float("inf"))
    read = {name: set() for name in fns}
    wrong = dict.fromkeys(fns, 0)
    slowest: dict[str, list[float]] = {}
    for _ in range(repeat):
        spent = dict.fromkeys(fns, 0.0)
        spent_empty = dict.fromkeys(fns, 0.0)
        each: dict[str, list[float]] = {name: [] for name in fns}
        for i, (text, grey) in enumerate(shots):
            for name, fn in fns.items():
                t0 = time.perf_counter()
                texts = fn(grey)
                dt = time.perf_counter() - t0
                spent[name] += dt
                each[name].append(dt)
                if text is None:
                    spent_empty[name] += dt
                if text is not None and text in texts:
                    read[name].add(i)
                wrong[name] = max(wrong[name], sum(t != text for t in texts))
        for name in fns:
            best[name] = min(best[name], spent[name])
            best_empty[name] = min(best_empty[name], spent_empty[name])
            # each frame's fastest pass: the slowest frames, without the machine's hiccups
            slowest[name] = [min(a, b) for a, b in zip(slowest.get(name, each[name]), each[name], strict=True)]
    empties = sum(1 for t, _ in shots if t is None)
    oracle = set().union(*read.values())
    return {"frames": n, "empty_frames": empties, "oracle": len(oracle), "methods": {
        name: {"decoded": len(read[name]), "share_of_oracle": round(len(read[name]) / max(len(oracle), 1), 3),
               "wrong": wrong[name], "ms_per_frame": round(best[name] * 1000 / n, 2),
               "ms_p99": round(float(np.percentile(slowest[name], 99)) * 1000, 1),
               "ms_max": round(max(slowest[name]) * 1000, 1),
               **({"ms_empty_frame": round(best_empty[name] * 1000 / empties, 2)} if empties else {})}
        for name in fns}}


def presentation_figures(fn, shows) -> dict:
    """Time to the beep: frames arrive every 1/FPS s; the beep comes when a frame is read, after
    that frame's decoding time. A gate busy decoding skips the frames that arrived meanwhile."""
    times = []
    for text, frames in shows:
        clock, f, beep = 0.0, 0, None
        while f < len(frames):
            arrive = f * 1000 / FPS
            clock = max(clock, arrive)
            t0 = time.perf_counter()
            texts = fn(frames[f])
            clock += (time.perf_counter() - t0) * 1000
            if text in texts:
                beep = clock
                break
            f = max(f + 1, int(clock * FPS / 1000) + (clock * FPS / 1000 % 1 > 0))
        times.append(beep)
    got = [t for t in times if t is not None]
    return {"presentations": len(shows), "read": len(got),
            "within_300ms": round(sum(t <= BEEP_MS for t in got) / len(shows), 3),
            "median_ms_to_beep": round(statistics.median(got), 1) if got else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--frames", type=int, default=200, help="frames in each set")
    ap.add_argument("--presentations", type=int, default=40)
    ap.add_argument("--seed", type=int, default=2021)
    ap.add_argument("--repeat", type=int, default=2, help="timed passes; the fastest counts")
    ap.add_argument("--wechat-models", help="folder with the WeChat detector's CNN model files")
    ap.add_argument("--sets", default="hard,door,camera_held_out",
                    help="frame sets, comma-separated: hard, door (tuned on), camera_held_out (never tuned on)")
    args = ap.parse_args()
    key = Ed25519PrivateKey.from_private_bytes(bytes(random.Random(args.seed).getrandbits(8) for _ in range(32)))
    fns = methods(args.wechat_models)
    makers = {"hard": hard_set, "door": door_set, "camera_held_out": camera_set}
    chosen = args.sets.split(",")
    if not chosen or any(name not in makers for name in chosen):
        raise SystemExit(f"bench/decode.py: --sets takes {', '.join(makers)}")
    sets = {name: measure(fns, makers[name](args.frames, args.seed, key), args.repeat) for name in chosen}
    shows = presentations(args.presentations, args.seed, key)
    pres = {name: presentation_figures(fns[name], shows) for name in ("pipeline", "zxing")}
    door = sets[chosen[-1]]["methods"]
    print(json.dumps({
        "benchmark": "decode",
        "sets": sets,
        "presentations": pres,
        "pipeline_share_of_oracle": {k: v["methods"]["pipeline"]["share_of_oracle"] for k, v in sets.items()},
        "pipeline_cpu_3x_slower_share_of_oracle": {
            k: v["methods"]["pipeline_cpu_3x_slower"]["share_of_oracle"] for k, v in sets.items()},
        "zxing_share_of_oracle": {k: v["methods"]["zxing"]["share_of_oracle"] for k, v in sets.items()},
        "empty_frame_vs_zxing": round(door["pipeline"]["ms_empty_frame"] / door["zxing"]["ms_empty_frame"], 2),
        "empty_frame_set": chosen[-1],
        "targets": {"share_of_oracle": 0.95, "wrong": 0, "empty_frame_vs_zxing": 3.0, "within_300ms": None},
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
