"""The central bridge: shared-subscription ingest, idempotent batch writes, then acks to the gates."""

from __future__ import annotations

import logging
import os
import queue
import secrets
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec

from drivers.mqtt import BrokerUrl, LinkFactory, mqtt_link
from mqtt_bridge import ingest
from mqtt_bridge.store import Store, StoreError
from protocol import messages, topics
from protocol.event import RETENTION_DAYS, Event, format_time, plausible
from protocol.messages import ACK_IDS, Ack, CommandResult, MessageError, Refusal, Status, Telemetry

logger = logging.getLogger(__name__)

IDLE_SECONDS = 0.01
CLOCK_RECHECK_S = 30.0
DELETED_RECHECK_S = 30.0  # a declaration deleted on the portal is refused at the gates within this


def placed_event(ev: Event, offset_ms: int, now: datetime, retention_days: int) -> Event | None:
    """The event at the time its boot's clock gives it, if that time is plausible."""
    try:
        t = datetime.fromtimestamp((offset_ms + ev.mono_ns // 1_000_000) / 1000, UTC)
    except (OverflowError, ValueError, OSError):
        return None
    return msgspec.structs.replace(ev, scanned_at=format_time(t)) if plausible(t, now, retention_days) else None


class Bridge:
    """Takes messages for up to `flush_seconds` (or `batch_messages`) and writes them as one
    transaction. A longer window means fewer, larger acks (one per gate per batch): at 0.1 s
    the acks cost a fraction of the ingest, for a tenth of a second's wait at the gate."""

    def __init__(self, store: Store, link: LinkFactory, group: str = "vhd-bridge",
                 batch_messages: int = 2000, flush_seconds: float = 0.1,
                 inbox_size: int = 20000, retention_days: int = RETENTION_DAYS,
                 on_progress: Callable[[], None] = lambda: None):
        self.store = store
        self.retention_days = retention_days
        self.on_progress = on_progress  # the watchdog: called after each turn of the ingest loop
        self.group = group
        self.batch_messages = batch_messages
        self.flush_seconds = flush_seconds
        self.inbox: queue.Queue = queue.Queue(maxsize=inbox_size)
        self.counters: Counter = Counter()
        self.rejects: Counter = Counter()
        self.batch_seconds: list[float] = []
        self.online: dict[str, bool] = {}  # each gate's last retained status, for the metrics
        self._clocks: dict[tuple[str, str], tuple[int, float]] = {}  # boot -> (offset, when checked)
        self._devices: dict[str, str] = {}
        self._devices_at = 0.0
        self._deleted_sent: list[str] | None = None  # the list last published, None: publish again
        self._deleted_at = 0.0
        self._stop = threading.Event()
        self.link = link(on_connect=self._connected, on_message=self._received, on_disconnect=self._disconnected)

    @staticmethod
    def link_for(url: BrokerUrl, client_id: str | None = None, username: str | None = None,
                 password: str | None = None, ca_file: str | None = None) -> LinkFactory:
        """The bridge's real link: a client id of its own (bridges share one login), no session
        kept, paho reconnecting by itself."""
        return mqtt_link(client_id or f"vhd-bridge-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}",
                         url, username=username, password=password, ca_file=ca_file, clean_start=True,
                         session_expiry=0, max_inflight=100, auto_reconnect=True)

    # MQTT side (paho's thread) -----------------------------------------------------------
    def _disconnected(self, reason: str) -> None:
        (logger.info if self._stop.is_set() else logger.warning)("bridge disconnected: %s", reason)

    def _connected(self) -> None:
        # Status is retained, and a shared subscription gets no retained messages: every bridge
        # subscribes to it plainly, so a bridge that starts late still learns who is online
        # (the update is idempotent when several bridges make it).
        wanted = [(f"$share/{self.group}/{topics.PREFIX}/+/{channel}", 1) for channel in ("events", "telemetry")]
        wanted.append((f"{topics.PREFIX}/+/status", 1))
        self.link.subscribe(wanted)
        logger.info("bridge subscribed (group %s)", self.group)
        self._deleted_sent, self._deleted_at = None, 0.0  # the broker may have restarted without it

    def _received(self, name: str, payload: bytes) -> None:
        try:
            self.inbox.put_nowait((name, payload))
            return
        except queue.Full:
            pass
        while not self._stop.is_set():
            try:
                self.inbox.put((name, payload), timeout=0.5)  # full: paho waits, broker buffers
                return
            except queue.Full:
                continue

    # worker side ------------------------------------------------------------------------------
    def devices(self, device_id: str) -> dict[str, str]:
        age = time.monotonic() - self._devices_at
        # unknown: look again (at most every 2 s); known: look again every 30 s, so a gate revoked
        # at the centre is refused within that, whatever the broker still holds from it
        if (device_id not in self._devices and age > 2) or age > 30:
            try:
                self._devices = self.store.devices()
                self._devices_at = time.monotonic()
            except StoreError as exc:
                logger.warning("cannot refresh device list: %s", exc)
        return self._devices

    def _reject(self, device_id: str, reason: str) -> None:
        self.rejects[reason] += 1
        logger.warning("refused a message from %s: %s", device_id[:64], reason)

    def process(self, received: list[tuple[str, bytes]]) -> None:
        """Validate a batch of messages, store their events in one transaction, then ack."""
        started = time.monotonic()
        now = datetime.now(UTC)
        events: list[Event] = []
        unplaced: list[Event] = []
        clocks: dict[tuple[str, str], int] = {}
        acks: dict[str, list[str]] = defaultdict(list)
        refused: dict[str, dict[str, str]] = defaultdict(dict)
        for name, payload in received:
            parsed = topics.parse(name)
            if parsed is None:
                self._reject("?", ingest.BAD_TOPIC)
                continue
            device_id, channel = parsed
            self.counters["messages"] += 1
            try:
                if channel == "events":
                    batch = ingest.parse_events(device_id, payload, self.devices(device_id), now,
                                                retention_days=self.retention_days)
                    events += batch.events
                    unplaced += batch.unplaced
                    clocks.update({(device_id, boot): off for boot, off in batch.clocks.items()})
                    acks[device_id] += [e.event_id for e in batch.events + batch.unplaced]
                    refused[device_id].update(batch.refused)
                    for reason in batch.refused.values():
                        self.rejects[reason] += 1
                else:
                    self._device_update(device_id, channel, payload, now)
            except ingest.Reject as r:
                self._reject(device_id, r.reason)
            except Exception as exc:  # no message, however formed, may stop ingest
                logger.error("message from %s could not be processed (%s); refused", device_id[:64],
                             type(exc).__name__)
                self._reject(device_id, messages.BAD_SCHEMA)
        events += self._place(unplaced, clocks, now, acks)
        if events:
            written, bad = self._write(events)
            if not written:
                return  # stopping before the database came back: nothing acked, the gates resend
            for ev in bad:
                acks[ev.device_id].remove(ev.event_id)
                refused[ev.device_id][ev.event_id] = messages.DB_REFUSED
                self.rejects["db_refused"] += 1
        for (device_id, boot_id), offset in clocks.items():
            self._learn_clock(device_id, boot_id, offset, now)
        for device_id in set(acks) | {d for d, r in refused.items() if r}:
            ids = acks.get(device_id, [])
            refusals = [Refusal(k, v) for k, v in refused[device_id].items()]
            # Acks of at most ACK_IDS ids each (about 40 KB) however large the batch was.
            for i in range(0, max(len(ids), len(refusals), 1), ACK_IDS):
                ack = Ack(ids[i:i + ACK_IDS], refusals[i:i + ACK_IDS])
                self.link.publish(topics.topic(device_id, "ack"), messages.encode(ack), qos=1)
        if events:
            self.batch_seconds.append(time.monotonic() - started)
            del self.batch_seconds[:-1000]

    # events from a gate whose clock was not set -------------------------------------------------
    def _place(self, unplaced: list[Event], clocks: dict[tuple[str, str], int], now: datetime,
               acks: dict[str, list[str]]) -> list[Event]:
        """Events placed in time from their boot's clock; the rest held for later (and acked only
        once held: the gate keeps what the centre could not keep)."""
        placed: list[Event] = []
        held: list[Event] = []
        known: dict[tuple[str, str], int | None] = dict(clocks)  # each boot looked up once per batch
        for ev in unplaced:
            key = (ev.device_id, ev.boot_id)
            if key not in known:
                try:
                    known[key] = self.store.boot_clock(*key)
                except StoreError:
                    known[key] = None
            offset = known[key]
            fixed = placed_event(ev, offset, now, self.retention_days) if offset is not None else None
            (placed if fixed else held).append(fixed or ev)
        if held:
            try:
                self.store.hold_unplaced(held)
                self.counters["events_unplaced"] += len(held)
                logger.info("%d event(s) from gates without a set clock held until their clock is known",
                            len(held))
            except StoreError as exc:
                logger.warning("cannot hold events without a time, the gates will resend: %s", exc)
                for ev in held:
                    acks[ev.device_id].remove(ev.event_id)
        self.counters["events_placed"] += len(placed)
        return placed

    def _learn_clock(self, device_id: str, boot_id: str, offset: int, now: datetime) -> None:
        """A boot's clock is known: remember it and place what waited for it. Each bridge does
        this once per boot, then again when the offset moves or CLOCK_RECHECK_S have passed (so
        events held by another bridge instance are placed too), not at every batch."""
        key = (device_id, boot_id)
        seen = self._clocks.get(key)
        mono = time.monotonic()
        if seen and abs(seen[0] - offset) < 1000 and mono - seen[1] < CLOCK_RECHECK_S:
            return
        self._clocks[key] = (offset, mono)
        if len(self._clocks) > 100_000:
            self._clocks.clear()
        try:
            self.store.set_boot_clock(device_id, boot_id, offset)
            waiting = self.store.unplaced(device_id, boot_id)
            if not waiting:
                return
            fixed = [placed_event(ev, offset, now, self.retention_days) for ev in waiting]
            ready = [ev for ev in fixed if ev is not None]
            if ready:
                self.store.insert_checkins(ready)
            self.store.drop_unplaced([ev.event_id for ev in ready])
            self.counters["events_placed"] += len(ready)
            logger.info("placed %d held event(s) from %s once its clock was known", len(ready), device_id)
        except StoreError as exc:
            logger.warning("clock of %s not recorded: %s", device_id, exc)

    def _write(self, events: list[Event]) -> tuple[bool, list[Event]]:
        """Store the events; (False, []) if stopped while the database was away. Events the
        database refuses as data (not a connection problem) are written one by one, and the
        ones it still refuses are returned, so that one bad event cannot block a whole fleet."""
        delay, failing, one_by_one = 0.2, False, False
        while True:
            try:
                if one_by_one:
                    added, bad = self._write_one_by_one(events)
                else:
                    added, bad = self.store.insert_checkins(events), []
                break
            except StoreError as exc:
                if not exc.transient and not one_by_one:
                    one_by_one = True
                    continue
                if not failing:
                    logger.error("database write failed, holding %d event(s) and retrying: %s",
                                 len(events), exc)
                    failing = True
                self.counters["db_retries"] += 1
                if self._stop.wait(delay):
                    return False, []
                delay = min(delay * 2, 5.0)
        if failing:
            logger.info("database back; batch written")
        self.counters["events"] += len(events) - len(bad)
        self.counters["events_new"] += added
        self.counters["events_duplicate"] += len(events) - len(bad) - added
        return True, bad

    def _write_one_by_one(self, events: list[Event]) -> tuple[int, list[Event]]:
        added, bad = 0, []
        for ev in events:
            try:
                added += self.store.insert_checkins([ev])
            except StoreError as exc:
                if exc.transient:
                    raise
                logger.warning("database refused an event from %s: %s", ev.device_id, str(exc)[:200])
                bad.append(ev)
        return added, bad

    def _device_update(self, device_id: str, channel: str, payload: bytes, now: datetime) -> None:
        if device_id not in self.devices(device_id):
            raise ingest.Reject(ingest.UNKNOWN_DEVICE)
        if not payload:
            return  # a cleared retained status
        try:
            if channel == "status":
                status = messages.decode(payload, Status)
                online = status.state == "online"
                self.store.set_status(device_id, online, now, status.firmware or None)
                self.online[device_id] = online
            else:
                report = messages.decode_gate_report(payload)
                if isinstance(report, Telemetry):
                    self.store.set_telemetry(device_id, report, now)
                    clock = ingest.telemetry_clock(report, now)
                    if clock:
                        self._learn_clock(device_id, clock[0], clock[1], now)
                elif isinstance(report, CommandResult):
                    logger.info("gate %s: command %s %s", device_id, report.cmd, "done" if report.ok else report.error)
            self.counters[channel] += 1
        except MessageError as exc:
            raise ingest.Reject(exc.reason) from None
        except StoreError as exc:
            logger.warning("device %s %s not recorded: %s", device_id, channel, exc)

    def _take(self) -> list[tuple[str, bytes]]:
        """A batch: messages until `flush_seconds` have passed, `batch_messages` are in, or no new
        message came for IDLE_SECONDS (a quiet moment: no reason to keep a gate waiting)."""
        try:
            first = self.inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.flush_seconds
        while len(batch) < self.batch_messages:
            left = deadline - time.monotonic()
            try:
                batch.append(self.inbox.get(timeout=min(left, IDLE_SECONDS)) if left > 0
                             else self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def run(self, stop: threading.Event | None = None) -> None:
        """Ingest until `stop` (or stop()) is set."""
        if stop is not None:
            self._stop = stop
        self.link.connect_async()
        self.link.loop_start()
        try:
            while not self._stop.is_set():
                batch = self._take()
                if batch:
                    self._process_guarded(batch)
                self.publish_deleted()
                # A turn that ends here made progress: the inbox was drained or empty. A database
                # write retried for ever never gets here, and systemd's watchdog restarts us.
                self.on_progress()
        finally:
            self._stop.set()
            self.link.disconnect()
            self.link.loop_stop()

    def publish_deleted(self) -> None:
        """Every DELETED_RECHECK_S, and after each connect: the declarations deleted while their QR
        was valid, one retained message for every gate, when the list changed. Several bridges
        publish the same list; the last one stands."""
        if not self.link.connected or time.monotonic() - self._deleted_at < DELETED_RECHECK_S:
            return
        self._deleted_at = time.monotonic()
        try:
            ids = self.store.deleted_declarations(datetime.now(UTC), messages.MAX_DELETED)
        except StoreError as exc:
            logger.warning("cannot read the deleted declarations: %s", exc)
            return
        message = messages.DeletedDeclarations.carrying(ids)
        ids = message.declaration_ids
        if ids == self._deleted_sent:
            return
        if len(ids) >= messages.MAX_DELETED:
            logger.warning("%d or more declarations deleted while valid: the gates get the latest %d",
                           messages.MAX_DELETED, messages.MAX_DELETED)
        body = messages.encode(message)
        if self.link.publish(topics.DELETED_DECLARATIONS, body, qos=1, retain=True) is not None:
            self._deleted_sent = ids
            logger.info("deleted declarations published: %d", len(ids))

    def _process_guarded(self, batch: list[tuple[str, bytes]]) -> None:
        """process(), and if something unforeseen fails, each message alone: one message that
        breaks the bridge costs only itself (its gate resends it), never the ingest of the fleet."""
        try:
            self.process(batch)
            return
        except Exception as exc:
            logger.error("batch of %d message(s) failed (%s); retrying them one by one", len(batch),
                         type(exc).__name__)
        for message in batch:
            try:
                self.process([message])
            except Exception as exc:
                self.rejects["internal_error"] += 1
                logger.error("a message on %s could not be processed: %s", message[0][:120], type(exc).__name__)

    def stop(self) -> None:
        self._stop.set()
