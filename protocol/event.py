"""The check-in event record made on the gate, and its wire form."""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from functools import cached_property

SCHEMA_VERSION = 1
MAX_NAME_BYTES = 160  # a display name in UTF-8: the token's limit, the card's, the event's
RETENTION_DAYS = 21  # check-ins are kept this long; older events are not stored
MAX_AHEAD_S = 600  # a synchronised clock this far ahead of the centre's is wrong
DIRECTIONS = ("in", "out")
KINDS = ("vhd", "cccd")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_DEVICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class EventError(ValueError):
    """A record that is not a valid event."""


def uuid7(unix_ms: int, rand: bytes) -> str:
    """A UUIDv7 (RFC 9562) from a millisecond timestamp and 10 random bytes."""
    if len(rand) < 10:
        raise ValueError("need 10 random bytes")
    value = (unix_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= (int.from_bytes(rand[:2], "big") & 0xFFF) << 64
    value |= 0b10 << 62
    value |= int.from_bytes(rand[2:10], "big") & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def format_time(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with a zone, in UTC; ValueError for anything else, extreme offsets included."""
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError("time without a zone")
    try:
        return t.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is past the last representable instant
        raise ValueError("time out of range") from None


def valid_device_id(text: str) -> bool:
    return bool(_DEVICE.fullmatch(text))


_TEXT_FIELDS = (("event_id", 36), ("device_id", 64), ("checkpoint_id", 64), ("direction", 3), ("kind", 4),
                ("subject", 64), ("display_name", MAX_NAME_BYTES), ("scanned_at", 40), ("boot_id", 64),
                ("firmware", 32))


def name_fits(name: str) -> bool:
    """A display name the centre stores: printable and at most MAX_NAME_BYTES in UTF-8."""
    return name.isprintable() and len(name.encode("utf-8", "surrogatepass")) <= MAX_NAME_BYTES


@dataclass(frozen=True)
class Event:
    event_id: str
    device_id: str
    checkpoint_id: str
    direction: str
    kind: str
    subject: str
    display_name: str
    scanned_at: str  # ISO 8601 UTC with milliseconds and Z
    mono_ns: int
    boot_id: str
    time_synced: bool
    firmware: str
    schema: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> Event:
        """Validate a received record; raises EventError naming the first bad field."""
        if not isinstance(data, dict):
            raise EventError("event is not an object")
        keys = data.keys()
        if keys != _NAMES and not (keys | {"schema"} == _NAMES and len(keys) == len(_NAMES) - 1):
            extra, missing = set(keys) - _NAMES, _NAMES - set(keys) - {"schema"}
            raise EventError(f"unknown fields: {sorted(extra)[:3]}" if extra else f"missing fields: {sorted(missing)}")
        ev = cls(**data)
        ev.validate()
        return ev

    def validate(self) -> None:
        for name, limit in _TEXT_FIELDS:
            value = getattr(self, name)
            # Printable only: no NUL or control characters, which a database or a log would choke on.
            if type(value) is not str or len(value) > limit or not value.isprintable():
                raise EventError(f"bad {name}")
        checks = (
            (self.schema == SCHEMA_VERSION and type(self.schema) is int, "schema"),
            (_UUID.fullmatch(self.event_id), "event_id"),
            (valid_device_id(self.device_id), "device_id"),
            (self.checkpoint_id and self.subject, "checkpoint_id or subject"),
            (self.direction in DIRECTIONS, "direction"),
            (self.kind in KINDS, "kind"),
            (name_fits(self.display_name), "display_name"),
            (type(self.mono_ns) is int and -(2**63) <= self.mono_ns < 2**63, "mono_ns"),
            (type(self.time_synced) is bool, "time_synced"),
        )
        for ok, name in checks:
            if not ok:
                raise EventError(f"bad {name}")
        try:
            t = self.time
        except (TypeError, ValueError, AttributeError, OverflowError):
            raise EventError("bad scanned_at") from None
        if not 1970 <= t.year <= 9998:
            raise EventError("bad scanned_at")

    @cached_property
    def time(self) -> datetime:
        """scanned_at parsed, once per event (validation, the bridge's checks and storage read it)."""
        return parse_time(self.scanned_at)


def plausible(t: datetime, now: datetime, retention_days: int = RETENTION_DAYS) -> bool:
    """Whether a scan time can be true: not ahead of the centre's clock, not past retention."""
    return now - timedelta(days=retention_days) <= t <= now + timedelta(seconds=MAX_AHEAD_S)


_NAMES = frozenset(f.name for f in fields(Event))
