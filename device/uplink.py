"""The gate's uplink: drains the local queue to the centre over MQTT, deletes only what is acked."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec

from common.files import read_secret
from device.config import MqttSection
from device.queue import EventQueue, QueueError
from drivers.mqtt import BrokerUrl, LinkFactory, MqttError, Will, mqtt_link
from protocol import messages
from protocol.messages import (
    MAX_ACK_BYTES,
    MAX_DELETED_BYTES,
    Ack,
    CentralConfig,
    Command,
    CommandResult,
    DeletedDeclarations,
    MessageError,
    Status,
    Telemetry,
)
from protocol.topics import DELETED_DECLARATIONS, topic

logger = logging.getLogger(__name__)


def read_password(cfg: MqttSection, config_dir: Path | None = None) -> str | None:
    """The MQTT password from systemd credentials or a file; never from the config itself."""
    if not cfg.password_file:
        return None
    name = Path(cfg.password_file)
    candidates = [name] if name.is_absolute() else [
        Path(os.environ.get("CREDENTIALS_DIRECTORY", "/nonexistent")) / name,
        *( [config_dir / name] if config_dir else []), Path("/etc/vhd-gate") / name]
    for path in candidates:
        try:
            return read_secret(path)
        except OSError:
            continue
        except ValueError as exc:
            raise MqttError(f"MQTT password file: {exc}") from None
    raise MqttError(f"MQTT password file {cfg.password_file} not found")


def status_payload(state: str, firmware: str, boot_id: str, reason: str = "") -> bytes:
    return messages.encode(Status(state, firmware, boot_id, reason, time.time()))  # type: ignore[arg-type]


def backoff_delay(attempt: int, low: float, high: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: a fleet coming back at once spreads out."""
    return rng.uniform(low, min(high, low * 2 ** min(attempt, 16)))


@dataclass
class _Inflight:
    event_ids: set[str]
    sent_at: float
    max_seq: int


@dataclass
class UplinkStats:
    sent_messages: int = 0
    acked_events: int = 0
    refused_events: int = 0
    resends: int = 0
    connects: int = 0


class Uplink:
    """Runs on its own thread with its own connection to the queue; paho is driven from it too."""

    def __init__(self, cfg: MqttSection, device_id: str, queue_path: Path, firmware: str,
                 boot_id: str, link: LinkFactory, telemetry: Callable[[], dict] = dict,
                 on_config: Callable[[CentralConfig], str | None] = lambda c: None,
                 on_deleted: Callable[[DeletedDeclarations], None] = lambda d: None, seed: int | None = None):
        self.cfg = cfg
        self.device_id = device_id
        self.queue_path = queue_path
        self.firmware = firmware
        self.boot_id = boot_id
        self.telemetry = telemetry
        self.on_config = on_config
        self.on_deleted = on_deleted
        self.stats = UplinkStats()
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._inflight: dict[str, _Inflight] = {}
        self._unpubacked: list = []  # Published handles of event batches the broker has not PUBACKed
        self._sent_seq = 0
        self._reported_depth = 0
        self._depth_checked = 0.0
        self._started = time.monotonic()
        self._queue: EventQueue | None = None
        self.link = link(on_connect=self._connected, on_disconnect=self._disconnected, on_message=self._message)

    @staticmethod
    def link_for(cfg: MqttSection, device_id: str, firmware: str, boot_id: str, password: str | None = None,
                 url: str | None = None) -> LinkFactory:
        """The gate's real link: its device id as client id and login, a session the broker keeps,
        and the retained "offline" status as its last will."""
        return mqtt_link(device_id, BrokerUrl.parse(url or cfg.url), username=cfg.username or device_id,
                         password=password, ca_file=cfg.ca_file or None, keepalive=cfg.keepalive,
                         clean_start=False, max_inflight=max(cfg.window, 1) + 4,
                         will=Will(topic(device_id, "status"), status_payload("offline", firmware, boot_id, "lost")))

    # state ---------------------------------------------------------------------------------
    def state(self) -> str:
        return "online" if self.link.connected else "offline"

    def _status(self, state: str, reason: str = "") -> bytes:
        return status_payload(state, self.firmware, self.boot_id, reason)

    # callbacks (run on the uplink thread, inside link.loop) --------------------------------
    def _connected(self) -> None:
        self.stats.connects += 1
        # Everything unacknowledged is sent again from the queue below: paho's own copies of
        # earlier batches would only go out twice and pile up across flapping connections.
        self.link.drop_pending()
        self._unpubacked.clear()
        self.link.publish(topic(self.device_id, "status"), self._status("online"), qos=1, retain=True)
        self.link.subscribe([(topic(self.device_id, c), 1) for c in ("ack", "config", "cmd")]
                            + [(DELETED_DECLARATIONS, 1)])
        # Whatever was in flight before may never be acked: send it all again (harmless: the
        # centre stores each event_id once).
        if self._inflight:
            self.stats.resends += 1
        self._inflight.clear()
        self._sent_seq = 0
        logger.info("uplink connected to %s", BrokerUrl.parse(self.cfg.url) if self.cfg.url else "the broker")

    def _disconnected(self, reason: str) -> None:
        (logger.info if self._stop.is_set() else logger.warning)("uplink disconnected: %s", reason)

    def _message(self, name: str, payload: bytes) -> None:
        channel = name.rsplit("/", 1)[-1]
        if not payload:
            return  # an empty retained message just clears the topic
        try:
            if name == DELETED_DECLARATIONS:
                self.on_deleted(messages.decode(payload, DeletedDeclarations, MAX_DELETED_BYTES))
            elif channel == "ack":
                self._ack(messages.decode(payload, Ack, MAX_ACK_BYTES))
            elif channel == "config":
                problem = self.on_config(messages.decode(payload, CentralConfig))
                if problem:
                    logger.warning("central config not applied: %s", problem)
            elif channel == "cmd":
                self._command(messages.decode(payload, Command))
        except MessageError as exc:
            logger.warning("ignoring a malformed %s message (%d bytes): %s", channel, len(payload), exc)

    def _ack(self, ack: Ack) -> None:
        refused = {r.event_id: r.reason for r in ack.refused}
        if self._queue is None:
            return  # the queue is being reopened: the events are resent and acked again
        try:
            self.stats.acked_events += self._queue.ack(ack.event_ids)
            if refused:
                n = self._queue.refuse(refused)
                self.stats.refused_events += n
                logger.warning("centre refused %d event(s); kept in the refused table", n)
        except QueueError as exc:
            logger.error("could not apply ack: %s", exc)
            return
        done = set(ack.event_ids) | set(refused)
        for key in list(self._inflight):
            entry = self._inflight[key]
            entry.event_ids -= done
            if not entry.event_ids:
                del self._inflight[key]

    def _command(self, command: Command) -> None:
        result = CommandResult(command.id, command.cmd, ok=True)
        if command.cmd == "telemetry":
            self.publish_telemetry()
        elif command.cmd == "resend":
            self._inflight.clear()
            self._sent_seq = 0
        elif command.cmd != "ping":
            result = CommandResult(command.id, command.cmd, ok=False, error="unknown command")
        self.link.publish(topic(self.device_id, "telemetry"), messages.encode(result), qos=1)

    # sending -------------------------------------------------------------------------------
    def _pump(self) -> None:
        now = time.monotonic()
        oldest = min((e.sent_at for e in self._inflight.values()), default=now)
        if oldest < now - self.cfg.ack_timeout_seconds:
            logger.warning("no ack within %.0f s: resending unacknowledged events",
                           self.cfg.ack_timeout_seconds)
            self.stats.resends += 1
            self._inflight.clear()
            self._sent_seq = 0
        # paho keeps every QoS 1 message until the broker's PUBACK and sends them all again after
        # a reconnect: count those too, so outages and resends never pile up batches without bound.
        self._unpubacked = [p for p in self._unpubacked if not p.is_published()]
        while len(self._inflight) < self.cfg.window and len(self._unpubacked) < self.cfg.window:
            rows = self._q().pending(limit=self.cfg.batch_size, after_seq=self._sent_seq)
            if not rows:
                return
            batch_id = str(uuid.uuid4())
            body = messages.batch_body(self.device_id, batch_id, [r.body for r in rows])
            published = self.link.publish(topic(self.device_id, "events"), body, qos=1)
            if published is None:
                return  # not connected any more; resent after reconnect
            self._unpubacked.append(published)
            self._inflight[batch_id] = _Inflight({r.event_id for r in rows}, now, rows[-1].seq)
            self._sent_seq = rows[-1].seq
            self.stats.sent_messages += 1

    def _q(self) -> EventQueue:
        if self._queue is None:
            raise QueueError("the event queue is being reopened")
        return self._queue

    def publish_telemetry(self) -> None:
        q = self._q()
        report = Telemetry(ts=time.time(), firmware=self.firmware, uptime_s=round(time.monotonic() - self._started, 1),
                           queue_depth=q.depth(), oldest_unsent_s=round(q.oldest_age(), 1),
                           refused_events=q.refused_count(),
                           # With a synchronised clock these let the centre place events this boot
                           # made before its clock was set.
                           boot_id=self.boot_id, mono_ns=time.monotonic_ns())
        try:
            report = msgspec.structs.replace(report, **self.telemetry())
        except Exception:
            logger.exception("telemetry source failed")
        self.link.publish(topic(self.device_id, "telemetry"), messages.encode(report), qos=0)
        self._reported_depth = report.queue_depth or 0

    def _drained_since_reported(self) -> bool:
        """The last report named a backlog that is gone now (checked at most once a second): the
        fleet page should not show a queue for a minute after it drained."""
        if not self._reported_depth or time.monotonic() < self._depth_checked + 1:
            return False
        self._depth_checked = time.monotonic()
        return self._q().depth() == 0

    # thread --------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="uplink", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        attempt = 0
        next_telemetry = 0.0
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    if self._queue is None:
                        self._queue = EventQueue(self.queue_path)
                    if not self.link.connected and not self._connecting():
                        delay = backoff_delay(attempt, self.cfg.backoff_min_seconds,
                                              self.cfg.backoff_max_seconds, self._rng)
                        attempt += 1
                        self._stop.wait(delay)
                        continue
                    alive = self.link.loop(0.05)
                    if not alive:
                        self.link.connected = False
                        continue
                    if self.link.connected:
                        attempt = 0
                        self._pump()
                        if time.monotonic() >= next_telemetry or self._drained_since_reported():
                            self.publish_telemetry()
                            next_telemetry = time.monotonic() + self.cfg.telemetry_seconds
                    failures = 0
                except Exception as exc:
                    # The uplink must outlive anything: a locked or damaged queue, a paho error.
                    # Said once per streak; the queue is reopened, the link left to reconnect.
                    failures += 1
                    if failures == 1:
                        logger.error("uplink error, retrying: %s: %s", type(exc).__name__, exc)
                    self._reopen_queue()
                    self._stop.wait(min(0.5 * failures, 10))
        finally:
            self._shutdown()

    def _reopen_queue(self) -> None:
        if self._queue is not None:
            try:
                self._queue.close()
            except Exception:
                pass
        self._queue = None
        self._inflight.clear()
        self._sent_seq = 0

    def _connecting(self) -> bool:
        """Start a connection; True when CONNECT went out (CONNACK comes through loop)."""
        try:
            self.link.connect()
        except MqttError as exc:
            logger.warning("%s", exc)
            return False
        # Wait briefly for CONNACK so a refused login is not taken for a live link.
        deadline = time.monotonic() + 5
        while not self.link.connected and time.monotonic() < deadline and not self._stop.is_set():
            if not self.link.loop(0.05):
                return False
            if self.link.last_error:
                logger.warning("%s", self.link.last_error)
                self.link.disconnect()
                return False
        return self.link.connected

    def _shutdown(self) -> None:
        try:
            if self.link.connected:
                info = self.link.publish(topic(self.device_id, "status"), self._status("offline", "shutdown"),
                                         qos=1, retain=True)
                end = time.monotonic() + 2
                while info is not None and not info.is_published() and time.monotonic() < end:
                    self.link.loop(0.05)
                self.link.disconnect()
                self.link.loop(0.05)
        finally:
            if self._queue is not None:
                self._queue.close()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
