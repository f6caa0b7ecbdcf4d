"""The check-in event record made on the gate, and its wire form."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Annotated, Literal

import msgspec

SCHEMA_VERSION = 1
MAX_NAME_BYTES = 160  # a display name in UTF-8: the token's limit, the card's, the event's
RETENTION_DAYS = 21  # check-ins are kept this long; older events are not stored
LOCAL_TIME_ZONE = "Asia/Ho_Chi_Minh"  # what "a day" means in reports, rollups and on a gate's screen
MAX_AHEAD_S = 600  # a synchronised clock this far ahead of the centre's is wrong
DIRECTIONS = ("in", "out")
KINDS = ("vhd", "cccd")
DEVICE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

# Field types with their limits: msgspec checks them in C while it decodes.
DeviceId = Annotated[str, msgspec.Meta(pattern=DEVICE_PATTERN)]
EventId = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")]
Text64 = Annotated[str, msgspec.Meta(max_length=64)]
Id64 = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Direction = Literal["in", "out"]
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
Firmware = Annotated[str, msgspec.Meta(max_length=32)]


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
    try:
        msgspec.convert(text, DeviceId)
    except msgspec.ValidationError:
        return False
    return True


def citizen_id_ok(text: str) -> bool:
    """A chip ID card's (CCCD) number: 12 ASCII digits (never other scripts' or full-width digits,
    which look the same on a screen but are another subject to a search)."""
    return len(text) == 12 and text.isascii() and text.isdigit()


def name_fits(name: str) -> bool:
    """A display name the centre stores: printable and at most MAX_NAME_BYTES in UTF-8."""
    return name.isprintable() and len(name.encode("utf-8", "surrogatepass")) <= MAX_NAME_BYTES


class Event(msgspec.Struct, frozen=True, forbid_unknown_fields=True, dict=True):
    """One scan accepted at a door. Constructing one checks what Python must (printable text,
    the name's bytes, the time); the other limits are checked while decoding, so an event is made
    through `from_dict` or `protocol.messages.decode` (as the gate, the bridge and the portal make
    theirs), never trusted raw."""

    event_id: EventId
    device_id: DeviceId
    checkpoint_id: Id64
    direction: Direction
    kind: Literal["vhd", "cccd"]
    subject: Id64
    display_name: str
    scanned_at: Annotated[str, msgspec.Meta(max_length=40)]  # ISO 8601 UTC with milliseconds and Z
    mono_ns: Int64
    boot_id: Text64
    time_synced: bool
    firmware: Firmware
    schema: Literal[1] = 1

    def __post_init__(self) -> None:
        # Printable only: no NUL or control characters, which a database or a log would choke on.
        for value in (self.checkpoint_id, self.subject, self.boot_id, self.firmware, self.scanned_at):
            if type(value) is not str or not value.isprintable():
                raise EventError("text fields must be printable")
        if type(self.display_name) is not str or not name_fits(self.display_name):
            raise EventError(f"display_name must be printable and at most {MAX_NAME_BYTES} bytes")
        if self.kind == "cccd" and not citizen_id_ok(self.subject):
            raise EventError("a cccd check-in's subject is a citizen id: 12 digits 0-9")
        try:
            year = self.time.year
        except (TypeError, ValueError, AttributeError, OverflowError):
            raise EventError("scanned_at is not an ISO 8601 time with a zone") from None
        if not 1970 <= year <= 9998:
            raise EventError("scanned_at out of range")

    def to_dict(self) -> dict:
        return msgspec.structs.asdict(self)

    def encode(self) -> bytes:
        return _ENCODER.encode(self)

    @classmethod
    def from_dict(cls, data: object) -> Event:
        """Validate a received record; raises EventError with a one-line reason."""
        try:
            return msgspec.convert(data, cls)
        except msgspec.ValidationError as exc:
            raise EventError(str(exc)) from None

    @cached_property
    def time(self) -> datetime:
        """scanned_at parsed, once per event (validation, the bridge's checks and storage read it)."""
        return parse_time(self.scanned_at)


_ENCODER = msgspec.json.Encoder()


def plausible(t: datetime, now: datetime, retention_days: int = RETENTION_DAYS) -> bool:
    """Whether a scan time can be true: not ahead of the centre's clock, not past retention."""
    return now - timedelta(days=retention_days) <= t <= now + timedelta(seconds=MAX_AHEAD_S)
