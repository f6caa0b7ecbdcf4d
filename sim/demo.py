"""`vhd-gate demo`: a simulated gate over generated QR frames, with its screens as PNGs."""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.files import private_dir
from device.clock import ManualClock
from device.config import from_dict
from device.daemon import build
from drivers.camera import ImageFolderCamera
from drivers.display import PngDisplay
from drivers.mqtt import BrokerUrl
from drivers.signals import RecordingSignals
from protocol.base45 import b45decode, b45encode
from protocol.event import LOCAL_TIME_ZONE
from protocol.token import PREFIX, encode_public_key, issue_token
from sim.frames import Shot, compose, render_qr, save_frame

TZ = ZoneInfo(LOCAL_TIME_ZONE)


@dataclass(frozen=True)
class Scene:
    label: str
    payload: str
    shot: Shot
    after_s: float  # seconds after the previous scene


def tamper_name(token: str) -> str:
    """A forgery: a genuine token with one letter of the name changed, signature kept."""
    blob = bytearray(b45decode(token[len(PREFIX):]))
    name_end = len(blob) - 64
    blob[name_end - 1] ^= 0x01
    return PREFIX + b45encode(bytes(blob))


def cccd(citizen_id: str, old_id: str, name: str, dob: str, sex: str, address: str,
         issued: str | None) -> str:
    """A CCCD QR payload: 7 fields, or the 6-field variant when there is no issue date."""
    fields = [citizen_id, old_id, name, dob, sex, address] + ([issued] if issued else [])
    return "|".join(fields)


def scenes(key: Ed25519PrivateKey, now: datetime) -> list[Scene]:
    t = int(now.timestamp())
    day = 86400
    tok = lambda decl, name, iat=t - day, exp=t + 14 * day: issue_token(key, decl, name, iat, exp)  # noqa: E731
    anh = tok("VHD-2021-000123", "Nguyễn Thị Vân Anh")
    binh = tok("VHD-2021-000456", "Trần Văn Bình")
    return [
        Scene("phone, bright", anh, Shot(size=260), 0),
        Scene("same phone again (repeat)", anh, Shot(size=250, angle=4), 0.5),
        Scene("dark-mode phone, tilted", binh, Shot(size=220, angle=-12, invert=True, tilt=0.12,
                                                    low=30, high=210, background=40), 6),
        Scene("CCCD card", cccd("079203001234", "025123456", "Lê Hoàng Phúc", "01011990", "Nam",
                                "Số 12 Lê Lợi, Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh",
                                "15082021"),
              Shot(size=230, angle=7, tilt=0.1, blur=0.8), 5),
        Scene("CCCD card, 6-field variant", cccd("001190012345", "", "Đặng Thu Hà", "02/03/1985", "Nữ",
                                                 "Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội", None),
              Shot(size=240, low=40, high=200), 7),
        Scene("expired declaration", tok("VHD-2021-000789", "Phạm Minh Châu", t - 30 * day,
                                         t - 16 * day), Shot(size=240), 6),
        Scene("forged declaration", tamper_name(tok("VHD-2021-000999", "Hoàng Văn Đức")),
              Shot(size=240, angle=20), 6),
        Scene("unknown QR (web address)", "https://tokhaiyte.vn/?page=Declaration", Shot(size=200), 6),
        Scene("damaged CCCD (bad date)", cccd("079203009999", "", "Võ Thị Mai", "31021992", "Nữ",
                                              "Quận 3, TP. Hồ Chí Minh", "10102021"), Shot(size=240), 6),
        Scene("leaving at the end of the day", anh, Shot(size=260, angle=-5), 8 * 3600),
    ]


def config_for(out: Path, key: Ed25519PrivateKey, broker_url: str = "") -> dict:
    return {
        "mqtt": {"url": broker_url, "ack_timeout_seconds": 5, "backoff_min_seconds": 0.2,
                 "backoff_max_seconds": 2},
        "gate": {"device_id": "gate-demo-01", "checkpoint_id": "CP-Q1-0001",
                 "checkpoint_name": "Trường THCS Nguyễn Du - Cổng chính", "direction": "auto",
                 "state_dir": str(out / "state")},
        "camera": {"source": f"images:{out / 'frames'}"},
        "display": {"driver": "png", "png_dir": str(out / "screens")},
        "signals": {"driver": "none"},
        "trust": {"public_keys": [encode_public_key(key.public_key())]},
    }


class _SimCamera(ImageFolderCamera):
    """Folder frames, with the simulated clock set to each scene's time before it is read."""

    def __init__(self, folder: Path, clock: ManualClock, gaps: list[float]):
        super().__init__(folder)
        self.clock, self.gaps = clock, gaps

    def read(self):
        if self._pos < len(self.gaps):
            self.clock.advance(self.gaps[self._pos])
        return super().read()


def start_centre(out: Path, cfg) -> tuple:
    """A local mosquitto and the bridge on SQLite, as a one-site centre would run them."""
    from mqtt_bridge.bridge import Bridge
    from mqtt_bridge.locate import migrate_database
    from mqtt_bridge.store import open_store
    from provisioning.mosquitto import LocalMosquitto

    broker = LocalMosquitto(out / "mosquitto").start()
    url = f"sqlite:///{out / 'centre.sqlite3'}"
    migrate_database(url)
    store = open_store(url)
    store.add_checkpoint(cfg["gate"]["checkpoint_id"], cfg["gate"]["checkpoint_name"], unit="Quận 1")
    store.add_device(cfg["gate"]["device_id"], cfg["gate"]["checkpoint_id"])
    bridge = Bridge(store, Bridge.link_for(BrokerUrl.parse(broker.url)))
    thread = threading.Thread(target=bridge.run, name="bridge", daemon=True)
    thread.start()
    return broker, store, bridge, thread


DEMO_FOLDERS = ("frames", "screens", "state", "mosquitto")
DEMO_FILES = ("centre.sqlite3", "centre.sqlite3-journal", "centre.sqlite3-wal", "centre.sqlite3-shm")


def run_demo(out: Path) -> int:
    # What an earlier run left, and only that: `make portal` keeps its people in demo-out/portal
    for name in DEMO_FOLDERS:
        if (out / name).is_dir():
            shutil.rmtree(out / name)
    for name in DEMO_FILES:
        (out / name).unlink(missing_ok=True)
    # Its frames hold people's QR codes (names, id numbers), as its database and screens do: the
    # whole folder is its owner's, whatever the umask
    private_dir(private_dir(out) / "frames")
    # The demo's day runs 08:30 to 16:31: today's if that is over, else yesterday's, so that no
    # scan is dated ahead of the centre's clock (the bridge refuses such times).
    now = datetime.now(TZ)
    start = now.replace(hour=8, minute=30, second=0, microsecond=0)
    if now < start + timedelta(hours=8, minutes=5):
        start -= timedelta(days=1)
    key = Ed25519PrivateKey.generate()
    plan = scenes(key, start)
    for i, s in enumerate(plan):
        save_frame(compose(render_qr(s.payload), s.shot, seed=i), out / "frames" / f"{i:03d}.png")
    data = config_for(out, key)
    broker, store, bridge, bridge_thread = start_centre(out, data)
    data["mqtt"]["url"] = broker.url
    cfg = from_dict(data)
    clock = ManualClock(start)
    display = PngDisplay(out / "screens", (cfg.display.width, cfg.display.height), scale=3)
    signals = RecordingSignals()
    camera = _SimCamera(out / "frames", clock, [s.after_s for s in plan])
    for name in ("device.gate", "device.uplink", "mqtt_bridge.bridge", "device.central"):
        logging.getLogger(name).setLevel(logging.WARNING)
    parts = build(cfg, clock=clock, camera=camera, display=display, signals=signals)
    gate = parts.gate
    print(f"VHD Gate demo: checkpoint {cfg.gate.checkpoint_id}, {len(plan)} generated frames "
          f"in {out / 'frames'}")
    print(f"centre: mosquitto at {broker.url}, bridge writing to {out / 'centre.sqlite3'}\n")
    try:
        gate.tick()
        for s in plan:
            frame = camera.read()
            display.label = "result"
            results = gate.process_frame(frame)
            when = clock.now().astimezone(TZ).strftime("%H:%M:%S")
            if not results:
                print(f"{when}  {s.label:34}  (no QR code read)")
            for r in results:
                d = r.decision
                what = (f"{d.direction.upper():3} {d.name}" if d.outcome != "rejected"
                        else d.reason)
                print(f"{when}  {s.label:34}  {d.outcome.upper():8}  {what:22}   "
                      f"[{signals.played[-1]} beep/LED, screen {display.count:04d}-result.png]")
            clock.advance(cfg.policy.feedback_seconds)
            display.label = "idle"
            gate.tick()
        drained = parts.drain(30, threading.Event())
        display.label = "idle"
        gate.tick()
        print(f"\ngate queue: {gate.queue.depth()} event(s) waiting "
              f"({'all acknowledged by the centre' if drained else 'NOT all delivered'})")
    finally:
        parts.close()
        bridge.stop()
        bridge_thread.join(10)
        broker.stop()
    rows = list(store.checkins())
    print(f"declaration database ({out / 'centre.sqlite3'}): {len(rows)} check-in(s)")
    for c in rows:
        t = datetime.fromisoformat(c.scanned_at.replace("Z", "+00:00")).astimezone(TZ)
        print(f"  {t:%H:%M:%S}  {c.direction:3}  {c.kind:4}  {c.subject:16}  {c.display_name}")
    store.close()
    print(f"\nOLED screens: {out / 'screens'} ({display.count} PNGs)")
    return 0 if drained else 1
