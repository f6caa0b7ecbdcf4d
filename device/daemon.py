"""The composition root: builds real or fake drivers from config and runs the gate."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from common.notify import Notifier
from device import __version__
from device.central import CentralConfig, DeletedDeclarations
from device.clock import SystemClock, boot_id, time_synced
from device.config import Config
from device.gate import Drivers, Gate, ScanCounters
from device.lock import StateLock
from device.queue import EventQueue, presence_horizon
from device.screens import Screens
from device.uplink import Uplink, read_password
from drivers.camera import open_camera
from drivers.decoder import make_decoder
from drivers.display import NullDisplay, PngDisplay, open_luma
from drivers.signals import GpioSignals, RecordingSignals

logger = logging.getLogger(__name__)



@dataclass
class Parts:
    """Everything the daemon opened, so it can close it all on the way out."""

    gate: Gate
    central: CentralConfig
    closers: list = field(default_factory=list)
    uplink: Uplink | None = None
    deleted: DeletedDeclarations | None = None

    def drain(self, seconds: float, stop: threading.Event) -> bool:
        """Wait until the centre has acknowledged every queued event; False on timeout."""
        deadline = time.monotonic() + seconds
        while not stop.is_set() and time.monotonic() < deadline:
            if self.gate.queue.depth() == 0:
                return True
            stop.wait(0.2)
        return self.gate.queue.depth() == 0

    def close(self) -> None:
        close_all(self.closers)


def close_all(closers: list) -> None:
    for close in reversed(closers):
        try:
            close()
        except Exception:  # keep closing the rest
            logger.exception("error while closing")


def open_display(cfg: Config):
    d = cfg.display
    if d.driver == "none":
        return NullDisplay((d.width, d.height))
    if d.driver == "png":
        return PngDisplay(d.png_dir, (d.width, d.height))
    return open_luma(d.driver, d.interface, d.width, d.height, d.rotate, d.i2c_port,
                     d.i2c_address, d.spi_port, d.spi_device, d.gpio_dc, d.gpio_rst)


def open_signals(cfg: Config, pin_factory=None):
    s = cfg.signals
    if s.driver == "none":
        return RecordingSignals()
    return GpioSignals(s.buzzer_pin, s.green_led_pin, s.red_led_pin,
                       (s.rgb_led_pins[0], s.rgb_led_pins[1], s.rgb_led_pins[2]) if s.rgb_led_pins else None,
                       s.relay_pin,
                       s.relay_active_high, s.buzzer_active_high, pin_factory=pin_factory)


def build(cfg: Config, clock=None, camera=None, display=None, signals=None,
          config_dir: Path | None = None, on_progress: Callable[[], None] = lambda: None) -> Parts:
    """Open every part the config names; parts handed in (fakes) are used as they are."""
    clock = clock or SystemClock()
    screens = Screens((cfg.display.width, cfg.display.height), cfg.gate.language, cfg.display.font)
    state = Path(cfg.gate.state_dir)
    queue = EventQueue(state / "events.sqlite3")
    queue.forget_presence_before(presence_horizon(clock.now()))
    queue.purge_refused()
    closers = [queue.close]
    try:
        display = display or open_display(cfg)
        closers.append(display.close)
        signals = signals or open_signals(cfg)
        closers.append(signals.close)
        camera = camera or open_camera(cfg.camera.source, cfg.camera.width, cfg.camera.height,
                                       cfg.camera.framerate, cfg.camera.autofocus,
                                       cfg.camera.lens_position,
                                       cfg.camera.door_exposure())
        drivers = Drivers(camera, make_decoder(cfg.decoder.driver), display, signals)
        central = CentralConfig(state, cfg)
        central.restore()
        deleted = DeletedDeclarations(state)
        deleted.restore()
        counters = ScanCounters(time_synced)
        gate_boot = boot_id()
        uplink = None
        if cfg.mqtt.url:
            mqtt_cfg = cfg.mqtt
            if mqtt_cfg.ca_file and config_dir and not Path(mqtt_cfg.ca_file).is_absolute():
                mqtt_cfg = replace(mqtt_cfg, ca_file=str(config_dir / mqtt_cfg.ca_file))
            firmware = cfg.gate.firmware or __version__
            link = Uplink.link_for(mqtt_cfg, cfg.gate.device_id, firmware, gate_boot,
                                   password=read_password(cfg.mqtt, config_dir))
            uplink = Uplink(mqtt_cfg, cfg.gate.device_id, queue.path, firmware, gate_boot, link,
                            telemetry=counters.report, on_config=central.handle, on_deleted=deleted.handle)
        gate = Gate(central.current, drivers, queue, screens, clock, counters=counters, boot_id=gate_boot,
                    settings=central.config, deleted=deleted.current,
                    uplink_state=uplink.state if uplink else lambda: "local", on_progress=on_progress)
        if uplink is not None:
            uplink.start()
            closers.append(uplink.stop)  # closed after the camera: flush, then say offline
        camera.start()
        closers.append(camera.close)
    except BaseException:
        close_all(closers)
        raise
    return Parts(gate, central, closers, uplink, deleted)


def run(cfg: Config, config_dir: Path | None = None, drain_seconds: float = 0) -> int:
    """Run until SIGTERM/SIGINT or the end of a finite camera source (then, with drain_seconds,
    until the centre has everything). Exit 3 when the queue could not be drained in time."""
    stop = threading.Event()

    def on_signal(signum, _frame):
        logger.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    notifier = Notifier()
    lock = StateLock(cfg.gate.state_dir, "a second gate process")
    try:
        parts = build(cfg, config_dir=config_dir, on_progress=notifier.progress)
    except BaseException:
        lock.close()
        raise
    parts.closers.insert(0, lock.close)  # released last
    notifier.ready(f"gate {cfg.gate.device_id} scanning")
    logger.info("gate %s at checkpoint %s running (camera %s, decoder %s, %d queued)",
                cfg.gate.device_id, cfg.gate.checkpoint_id, cfg.camera.source,
                cfg.decoder.driver, parts.gate.queue.depth())
    try:
        parts.gate.run(stop)
        if drain_seconds and parts.uplink is not None and not stop.is_set():
            if not parts.drain(drain_seconds, stop):
                logger.error("%d event(s) still queued after %.0f s", parts.gate.queue.depth(),
                             drain_seconds)
                return 3
            logger.info("queue drained")
    finally:
        notifier.stopping()
        parts.close()
    return 0
