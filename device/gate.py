"""The scan loop: frame -> decode -> classify -> policy -> commit -> feedback."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from device import __version__
from device.config import Config
from device.feedback import pattern_for, render
from device.policy import ACCEPTED, REJECTED, Decision, PolicyConfig, decide
from device.queue import EventQueue, QueueError
from device.screens import IdleInfo, Screens
from drivers.camera import Camera, Frame
from drivers.decoder import Decoder
from drivers.display import Display
from drivers.signals import Signals
from protocol.credential import INVALID_CCCD, VHD, Classified, classify
from protocol.event import Event, EventError, format_time, uuid7
from protocol.token import MALFORMED, TrustStore

logger = logging.getLogger(__name__)

HOLD_NS = 1_500_000_000  # a code still in view within this time is the same presentation
STORAGE_ERROR = "storage_error"


def cpu_temperature(path: str = "/sys/class/thermal/thermal_zone0/temp") -> float | None:
    try:
        with open(path) as fh:
            return round(int(fh.read().strip()) / 1000, 1)
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    event: Event | None
    latency_ms: float  # from the frame's capture to the end of feedback


@dataclass(frozen=True)
class Drivers:
    """The hardware a gate drives; each a small Protocol with a real fake."""

    camera: Camera
    decoder: Decoder
    display: Display
    signals: Signals


class ScanCounters:
    """Frames taken and codes read: the gate counts, the uplink reports them as telemetry."""

    def __init__(self, time_synced: Callable[[], bool] = lambda: False):
        self.time_synced = time_synced
        self.frames = 0
        self.decoded = 0
        self._since, self._frames, self._decoded = time.monotonic(), 0, 0

    def report(self) -> dict:
        """Telemetry fields (protocol.messages.Telemetry) since the last report."""
        now = time.monotonic()
        span = max(now - self._since, 1e-6)
        data = {"frames_per_s": round((self.frames - self._frames) / span, 2),
                "decodes_per_min": round((self.decoded - self._decoded) * 60 / span, 1),
                "scans_total": self.decoded, "time_synced": self.time_synced(),
                "cpu_temp_c": cpu_temperature()}
        self._since, self._frames, self._decoded = now, self.frames, self.decoded
        return data


class Gate:
    """One door. Built complete by the composition root (device/daemon.py): `settings` gives the
    config in force (the centre may change it while the gate runs), `uplink_state` what the
    idle screen says of the link, `on_progress` the watchdog."""

    def __init__(self, cfg: Config, drivers: Drivers, queue: EventQueue, screens: Screens, clock, *,
                 counters: ScanCounters | None = None, boot_id: str = "",
                 settings: Callable[[], Config] | None = None,
                 deleted: Callable[[], frozenset[str]] = frozenset,
                 uplink_state: Callable[[], str] = lambda: "local",
                 on_progress: Callable[[], None] = lambda: None):
        self.camera = drivers.camera
        self.decoder = drivers.decoder
        self.display = drivers.display
        self.signals = drivers.signals
        self.queue = queue
        self.screens = screens
        self.clock = clock
        self.counters = counters or ScanCounters()
        self.time_synced = self.counters.time_synced
        self.boot_id = boot_id
        self.settings = settings or (lambda: cfg)
        self.deleted = deleted  # the declarations deleted at the centre: their QR is refused
        self.uplink_state = uplink_state
        self.on_progress = on_progress
        self.tz = ZoneInfo(cfg.gate.timezone)
        self._held: dict[str, int] = {}
        self._result_until = 0
        self._idle_key: tuple | None = None
        self._apply(cfg)

    def _apply(self, cfg: Config) -> None:
        """New trust keys, policy or direction (from the centre): in force from the next frame."""
        self.trust = TrustStore.from_public_keys(cfg.trust.public_keys, cfg.trust.revoked_key_ids)
        self.policy = PolicyConfig(cfg.gate.direction, cfg.policy.debounce_seconds,
                                   cfg.policy.min_stay_minutes * 60)
        self.cfg = cfg
        self._idle_key = None

    def _held_back(self, payload: str, mono: int) -> bool:
        """True while the same code stays in view: one presentation, one decision."""
        key = self.queue.tag(payload)
        last = self._held.get(key)
        self._held[key] = mono
        if len(self._held) > 256:
            self._held = {k: t for k, t in self._held.items() if mono - t < HOLD_NS}
        return last is not None and 0 <= mono - last < HOLD_NS

    def _event(self, d: Decision) -> Event:
        """The event of an acceptance, checked against every limit the centre applies: a gate
        never greets what the centre would refuse (EventError)."""
        now = self.clock.now()
        return Event.from_dict(dict(
            event_id=uuid7(int(now.timestamp() * 1000), os.urandom(10)),
            device_id=self.cfg.gate.device_id,
            checkpoint_id=self.cfg.gate.checkpoint_id,
            direction=d.direction or "",  # set for every acceptance; empty would fail validation
            kind=d.kind,
            subject=d.subject or "",
            display_name=d.name or "",
            scanned_at=format_time(now),
            mono_ns=self.clock.monotonic_ns(),
            boot_id=self.boot_id,
            time_synced=self.time_synced(),
            firmware=self.cfg.gate.firmware or __version__,
        ))

    def handle(self, text: str, frame_ns: int) -> Outcome:
        """Decide on one decoded payload, commit it, then give feedback."""
        now = self.clock.now()
        trust = replace(self.trust, deleted=self.deleted())  # the centre's latest list
        c: Classified = classify(text, trust, int(now.timestamp()), self.cfg.policy.accept_cccd)
        last = (self.queue.last_seen(c.credential.kind, c.credential.subject)
                if c.credential else None)
        d = decide(c, last, now, self.tz, self.policy)
        event = None
        if d.outcome == ACCEPTED:
            try:
                event = self._event(d)
            except EventError as exc:
                logger.warning("scan refused: its event would not pass the centre's checks (%s)", exc)
                reason = MALFORMED if d.kind == VHD else INVALID_CCCD
                d, event = Decision(REJECTED, d.kind, reason=reason), None
        if event is not None:
            try:
                self.queue.record(event)  # committed before the person hears anything
            except QueueError as exc:
                logger.error("event not stored, refusing the scan: %s", exc)
                d, event = Decision(REJECTED, d.kind, reason=STORAGE_ERROR), None
        self._feedback(d, now)
        latency = (time.monotonic_ns() - frame_ns) / 1e6
        logger.info("feedback %s kind=%s reason=%s event=%s who=%s latency_ms=%.1f", d.outcome,
                    d.kind, d.reason, event.event_id if event else "-",
                    self.queue.tag(d.subject) if d.subject else "-", latency)
        return Outcome(d, event, latency)

    def _feedback(self, d: Decision, now) -> None:
        try:
            self.display.show(render(self.screens, d, self.tz, now))
            self.signals.play(pattern_for(d))
            if d.outcome == ACCEPTED and self.cfg.signals.relay_pin is not None:
                self.signals.pulse_relay(self.cfg.signals.relay_pulse_seconds)
        except Exception:  # a broken panel or buzzer must not stop check-ins
            logger.exception("feedback device failed")
        self._result_until = self.clock.monotonic_ns() + int(self.cfg.policy.feedback_seconds * 1e9)
        self._idle_key = None

    def process_frame(self, frame: Frame) -> list[Outcome]:
        cfg = self.settings()
        if cfg is not self.cfg:
            self._apply(cfg)
        self.counters.frames += 1
        mono = self.clock.monotonic_ns()
        outcomes = []
        try:
            codes = self.decoder.decode(frame.grey)
        except Exception:  # a decoder crash on one odd frame must not stop the gate
            logger.exception("decoder failed on frame %d", frame.index)
            codes = []
        for code in codes:
            self.counters.decoded += 1
            if self._held_back(code.text, mono):
                continue
            outcomes.append(self.handle(code.text, frame.mono_ns))
        self.on_progress()
        return outcomes

    def idle_info(self) -> IdleInfo:
        return IdleInfo(self.cfg.gate.checkpoint_id, self.cfg.gate.checkpoint_name,
                        self.cfg.gate.direction, self.uplink_state(), self.queue.depth(),
                        self.clock.now().astimezone(self.tz), self.cfg.gate.portal_url)

    def tick(self) -> None:
        """Back to the idle screen once a result has been up long enough; refresh its clock."""
        if self.clock.monotonic_ns() < self._result_until:
            return
        info = self.idle_info()
        key = (info.now.strftime("%H:%M"), info.uplink, info.queue_depth, info.direction)
        if key != self._idle_key:
            try:
                self.display.show(self.screens.idle(info))
            except Exception:
                logger.exception("display failed")
            self._idle_key = key

    def run(self, stop: threading.Event) -> None:
        """Take frames until `stop` is set or a finite camera source runs out."""
        self.tick()
        while not stop.is_set():
            frame = self.camera.read()
            if frame is None:
                logger.info("camera source ended after %d frames", self.counters.frames)
                return
            self.process_frame(frame)
            self.tick()
