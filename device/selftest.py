"""`vhd-gate selftest`: checks every part of an installed gate and says plainly what fails."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

from device.clock import time_synced
from device.config import Config
from device.lock import StateLock
from device.screens import Screens
from drivers.decoder import make_decoder


def _camera(cfg: Config, camera=None) -> str:
    from drivers.camera import open_camera

    cam = camera or open_camera(cfg.camera.source, cfg.camera.width, cfg.camera.height,
                                cfg.camera.framerate, cfg.camera.autofocus, cfg.camera.lens_position,
                                       cfg.camera.door_exposure())
    cam.start()
    try:
        frame = cam.read()
    finally:
        cam.close()
    if frame is None:
        raise RuntimeError("the camera gave no frame")
    mean = float(frame.grey.mean())
    if mean < 3:
        raise RuntimeError(f"frames are black (mean level {mean:.0f}): lens cap, cable or exposure")
    h, w = frame.grey.shape
    return f"{w}x{h} frame, mean level {mean:.0f}"


def _display(cfg: Config, display=None) -> str:
    from device.daemon import open_display

    disp = display or open_display(cfg)
    img = Image.new("1", disp.size, 0)
    d = ImageDraw.Draw(img)
    for x in range(0, disp.size[0], 8):  # a test pattern: every pixel column group lit once
        d.rectangle((x, 0, x + 3, 7), fill=1)
    d.rectangle((0, 0, disp.size[0] - 1, disp.size[1] - 1), outline=1)
    d.text((6, 20), "VHD Gate selftest", font=Screens(disp.size).font(11), fill=1)
    disp.show(img)
    if display is None:
        time.sleep(1.5)
        disp.close()
    return f"{cfg.display.driver} {disp.size[0]}x{disp.size[1]}: test pattern shown (look at it)"


def _signals(cfg: Config, signals=None) -> str:
    from device.daemon import open_signals
    from device.feedback import PATTERNS

    sig = signals or open_signals(cfg)
    for name in ("accepted", "rejected"):
        sig.play(PATTERNS[name])
        if signals is None:
            time.sleep(2.2)
    if signals is None:
        sig.close()
    return "buzzer beeped once, green LED lit; then three beeps and red LED (listen and look)"


def _broker(cfg: Config, config_dir: Path | None) -> str:
    from device.uplink import read_password
    from drivers.mqtt import BrokerUrl, MqttLink

    if not cfg.mqtt.url:
        return "no broker configured (local-only gate)"
    ca = cfg.mqtt.ca_file
    if ca and config_dir and not Path(ca).is_absolute():
        ca = str(config_dir / ca)
    link = MqttLink(f"{cfg.gate.device_id}-selftest", BrokerUrl.parse(cfg.mqtt.url),
                    username=cfg.mqtt.username or cfg.gate.device_id,
                    password=read_password(cfg.mqtt, config_dir), ca_file=ca or None,
                    clean_start=True, session_expiry=0)
    link.connect()
    deadline = time.monotonic() + 10
    while not link.connected and not link.last_error and time.monotonic() < deadline:
        link.loop(0.1)
    ok = link.connected
    link.disconnect()
    if not ok:
        raise RuntimeError(link.last_error or f"no answer from {link.url} within 10 s")
    return f"logged in to {link.url} as {cfg.mqtt.username or cfg.gate.device_id}"


def _clock(_cfg: Config) -> str:
    if not time_synced():
        raise RuntimeError("clock not NTP-synchronised yet (events will be marked time_synced=false); "
                           "check the network and systemd-timesyncd")
    return "NTP-synchronised"


def _storage(cfg: Config) -> str:
    state = Path(cfg.gate.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=state) as fh:
        fh.write(b"x")
        fh.flush()
        os.fsync(fh.fileno())
    free = os.statvfs(state)
    mb = free.f_bavail * free.f_frsize / 2**20
    if mb < 50:
        raise RuntimeError(f"only {mb:.0f} MB free in {state}")
    return f"{state} writable, {mb:.0f} MB free"


def run_selftest(cfg: Config, config_dir: Path | None = None, out: Callable[[str], None] = print,
                 camera=None, display=None, signals=None) -> int:
    lock = StateLock(cfg.gate.state_dir, "the selftest")  # GateBusy while the service runs
    try:
        return _run_checks(cfg, config_dir, out, camera, display, signals)
    finally:
        lock.close()


def _run_checks(cfg: Config, config_dir: Path | None, out: Callable[[str], None], camera, display,
                signals) -> int:
    checks = [
        ("storage", lambda: _storage(cfg)),
        ("font", lambda: Screens(lang=cfg.gate.language, font_path=cfg.display.font).font_path),
        ("decoder", lambda: make_decoder(cfg.decoder.driver).name),
        ("camera", lambda: _camera(cfg, camera)),
        ("display", lambda: _display(cfg, display)),
        ("buzzer/LEDs", lambda: _signals(cfg, signals)),
        ("broker", lambda: _broker(cfg, config_dir)),
        ("clock", lambda: _clock(cfg)),
    ]
    failed = 0
    for name, check in checks:
        try:
            detail = check()
            out(f"OK    {name:12} {detail}")
        except Exception as exc:  # every failure is reported in words, the next check still runs
            failed += 1
            out(f"FAIL  {name:12} {exc}")
    out("all checks passed" if not failed else f"{failed} check(s) failed")
    return 0 if not failed else 1
