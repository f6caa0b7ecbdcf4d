"""Validation of what gates send: pure functions, every bad input a reason, never an exception."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from protocol import messages
from protocol.event import MAX_AHEAD_S, RETENTION_DAYS, Event, plausible
from protocol.messages import BAD_EVENT, CHECKPOINT_MISMATCH, IMPLAUSIBLE_TIME, MessageError, Telemetry

# Reasons a message is refused whole, besides the protocol's (too_large, bad_json, bad_schema).
DEVICE_MISMATCH = "device_mismatch"
UNKNOWN_DEVICE = "unknown_device"
BAD_TOPIC = "bad_topic"


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


def parse_events(device_id: str, payload: bytes, devices: dict[str, str], now: datetime,
                 retention_days: int = RETENTION_DAYS) -> Batch:
    """A batch from `vhd/v1/gates/{device_id}/events`; raises Reject for a message refused whole.
    Times are checked against `now`: a synchronised clock's impossible time is refused; an
    unsynchronised one's goes to `unplaced`, to be placed once that boot's clock is known."""
    try:
        sender, events = messages.decode_events(payload)
    except MessageError as exc:
        raise Reject(exc.reason) from None
    if sender != device_id:
        raise Reject(DEVICE_MISMATCH)
    checkpoint = devices.get(device_id)
    if checkpoint is None:
        raise Reject(UNKNOWN_DEVICE)
    batch = Batch(device_id)
    seen = set()
    for ev in events:
        if not isinstance(ev, Event):
            if ev is not None:
                batch.refused[ev] = BAD_EVENT
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


def telemetry_clock(t: Telemetry, now: datetime) -> tuple[str, int] | None:
    """(boot_id, clock offset) from telemetry that says its clock is synchronised and agrees
    with the centre's; None otherwise."""
    if t.time_synced is not True or not t.boot_id or t.mono_ns is None:
        return None
    try:
        wall = datetime.fromtimestamp(t.ts, UTC)
    except (OverflowError, ValueError, OSError):
        return None
    if abs((wall - now).total_seconds()) > MAX_AHEAD_S:
        return None
    return t.boot_id, clock_offset_ms(wall, t.mono_ns)
