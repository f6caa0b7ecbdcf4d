"""Validation of what gates send: pure functions, every bad input a reason, never an exception."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from protocol.event import SCHEMA_VERSION, Event, EventError

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


class Reject(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Batch:
    device_id: str
    events: list[Event] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # event_id -> reason


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


def parse_events(device_id: str, payload: bytes, devices: dict[str, str],
                 limit: int = MAX_PAYLOAD) -> Batch:
    """A batch from `vhd/v1/gates/{device_id}/events`; raises Reject for a message refused whole."""
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
        if ev.event_id not in seen:
            seen.add(ev.event_id)
            batch.events.append(ev)
    return batch


def parse_object(payload: bytes, limit: int = 64 * 1024) -> dict:
    """A status or telemetry message: a JSON object, or Reject."""
    data = _json(payload, limit)
    if not isinstance(data, dict):
        raise Reject(BAD_SCHEMA)
    return data
