"""Validation of what gates send: pure functions, every bad input a reason, never an exception."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from protocol.event import MAX_AHEAD_S, RETENTION_DAYS, SCHEMA_VERSION, Event, EventError, plausible

MAX_PAYLOAD = 512 * 1024
MAX_EVENTS = 1000

# Reasons a message is refused whole; counted and logged by the bridge.
TOO_LARGE = "too_large"
BAD_UTF8 = "bad_utf8"
BAD_JSON = "bad_json"
BAD_SCHEMA = "bad_schema"
DEVICE_MISMATCH = "device_mismatch"
UNKNOWN_DEVICE = "unknown_device"
BAD_TOPIC = "bad_topic"
# Reasons one event inside a good message is refused; the gate is told, per event.
BAD_EVENT = "bad_event"
CHECKPOINT_MISMATCH = "checkpoint_mismatch"
IMPLAUSIBLE_TIME = "implausible_time"  # a synchronised clock's time that cannot be true


class Reject(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Batch:
    device_id: str
    events: list[Event] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # event_id -> reason
    unplaced: list[Event] = field(default_factory=list)  # unsynchronised clock, time not plausible
    clocks: dict[str, int] = field(default_factory=dict)  # boot_id -> wall ms minus monotonic ms


def clock_offset_ms(wall: datetime, mono_ns: int) -> int:
    """What to add to a boot's monotonic milliseconds to get wall-clock milliseconds."""
    return round(wall.timestamp() * 1000) - mono_ns // 1_000_000


def _json(payload: bytes, limit: int) -> object:
    if len(payload) > limit:
        raise Reject(TOO_LARGE)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise Reject(BAD_UTF8) from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise Reject(BAD_JSON) from None


def parse_events(device_id: str, payload: bytes, devices: dict[str, str], now: datetime,
                 limit: int = MAX_PAYLOAD, retention_days: int = RETENTION_DAYS) -> Batch:
    """A batch from `vhd/v1/gates/{device_id}/events`; raises Reject for a message refused whole.
    Times are checked against `now`: a synchronised clock's impossible time is refused; an
    unsynchronised one's goes to `unplaced`, to be placed once that boot's clock is known."""
    data = _json(payload, limit)
    if not isinstance(data, dict) or data.get("schema") != SCHEMA_VERSION \
            or not isinstance(data.get("events"), list) or len(data["events"]) > MAX_EVENTS:
        raise Reject(BAD_SCHEMA)
    if data.get("device_id") != device_id:
        raise Reject(DEVICE_MISMATCH)
    checkpoint = devices.get(device_id)
    if checkpoint is None:
        raise Reject(UNKNOWN_DEVICE)
    batch = Batch(device_id)
    seen = set()
    for raw in data["events"]:
        event_id = raw.get("event_id") if isinstance(raw, dict) else None
        try:
            ev = Event.from_dict(raw)
        except (EventError, TypeError):
            if isinstance(event_id, str) and len(event_id) <= 64:
                batch.refused[event_id] = BAD_EVENT
            continue
        if ev.device_id != device_id:
            raise Reject(DEVICE_MISMATCH)
        if ev.checkpoint_id != checkpoint:
            batch.refused[ev.event_id] = CHECKPOINT_MISMATCH
            continue
        if ev.event_id in seen:
            continue
        seen.add(ev.event_id)
        t = ev.time
        if plausible(t, now, retention_days):
            batch.events.append(ev)
            if ev.time_synced:
                batch.clocks[ev.boot_id] = clock_offset_ms(t, ev.mono_ns)
        elif ev.time_synced:
            batch.refused[ev.event_id] = IMPLAUSIBLE_TIME
        else:
            batch.unplaced.append(ev)
    return batch


def telemetry_clock(data: dict, now: datetime) -> tuple[str, int] | None:
    """(boot_id, clock offset) from telemetry that says its clock is synchronised and agrees
    with the centre's; None otherwise."""
    boot, mono, ts = data.get("boot_id"), data.get("mono_ns"), data.get("ts")
    if data.get("time_synced") is not True or not isinstance(boot, str) or not 0 < len(boot) <= 64 \
            or type(mono) is not int or not isinstance(ts, (int, float)) or isinstance(ts, bool):
        return None
    try:
        wall = datetime.fromtimestamp(ts, UTC)
    except (OverflowError, ValueError, OSError):
        return None
    if abs((wall - now).total_seconds()) > MAX_AHEAD_S:
        return None
    return boot, clock_offset_ms(wall, mono)


def parse_object(payload: bytes, limit: int = 64 * 1024) -> dict:
    """A status or telemetry message: a JSON object, or Reject."""
    data = _json(payload, limit)
    if not isinstance(data, dict):
        raise Reject(BAD_SCHEMA)
    return data
