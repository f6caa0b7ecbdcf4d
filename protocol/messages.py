"""Every message between gates and the centre besides the event: one typed definition each, with
its limits, encoded and decoded here by both ends (docs/protocol.md describes them)."""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar

import msgspec

from protocol.event import DeviceId, Event, Firmware, Int64, Text64

MAX_EVENTS = 1000  # events in one batch
MAX_BATCH_BYTES = 512 * 1024
ACK_IDS = 1000  # event ids (and refusals) in one ack
MAX_ACK_BYTES = 1024 * 1024
MAX_SMALL_BYTES = 64 * 1024  # status, telemetry, command, central config
MAX_DELETED = 100_000  # declarations deleted while valid that one message lists (the latest deleted)
MAX_DELETED_BYTES = 8 * 1024 * 1024

# Why the centre refused one event of a batch; the gate keeps refused events for a technician.
BAD_EVENT = "bad_event"
CHECKPOINT_MISMATCH = "checkpoint_mismatch"
IMPLAUSIBLE_TIME = "implausible_time"  # a synchronised clock's time that cannot be true
DB_REFUSED = "db_refused"

Reason = Annotated[str, msgspec.Meta(max_length=32)]
Short = Annotated[str, msgspec.Meta(max_length=200)]
Count = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]  # what a database integer column holds
Seconds = Annotated[float, msgspec.Meta(ge=0)]
Key = Annotated[str, msgspec.Meta(max_length=200)]


# Why a whole message was refused: counted by the bridge, logged, never answered.
TOO_LARGE = "too_large"
BAD_UTF8 = "bad_utf8"
BAD_JSON = "bad_json"
BAD_SCHEMA = "bad_schema"  # JSON, but not this topic's message


class MessageError(ValueError):
    """A message that is not what its topic carries: `reason` is one of those above, the
    text a one-line explanation."""

    def __init__(self, reason: str, text: str):
        super().__init__(text)
        self.reason = reason


class EventBatch(msgspec.Struct, forbid_unknown_fields=True):
    """`events`: a gate's batch. The events stay raw here, so one bad event is refused alone
    (its id, where it has one, goes back in the ack) and the rest are stored."""

    device_id: DeviceId
    events: Annotated[list[msgspec.Raw], msgspec.Meta(max_length=MAX_EVENTS)]
    batch_id: Text64 = ""  # the gate's own name for the batch, for its logs
    schema: Literal[1] = 1


class _CheckedBatch(msgspec.Struct, forbid_unknown_fields=True):
    """The same batch with every event decoded: the fast path, taken when all are valid."""

    device_id: DeviceId
    events: Annotated[list[Event], msgspec.Meta(max_length=MAX_EVENTS)]
    batch_id: Text64 = ""
    schema: Literal[1] = 1


class _EventIdOnly(msgspec.Struct):
    event_id: Annotated[str, msgspec.Meta(max_length=64)]


class Refusal(msgspec.Struct, forbid_unknown_fields=True):
    event_id: Annotated[str, msgspec.Meta(max_length=64)]
    reason: Reason


class Ack(msgspec.Struct):
    """`ack`: which events are stored and which are refused, sent after the database commit."""

    event_ids: Annotated[list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(max_length=ACK_IDS)] = []
    refused: Annotated[list[Refusal], msgspec.Meta(max_length=ACK_IDS)] = []


def _printable(*values: str | None) -> None:
    """A gate's text that a log line, the fleet page or a technician's terminal shows: one line,
    no control or invisible characters, as an event's (a newline forged log lines, an escape
    sequence drove the terminal that printed it). msgspec makes the ValueError a refusal."""
    for value in values:
        if value is not None and not value.isprintable():
            raise ValueError("text fields must be printable")


class Status(msgspec.Struct):
    """`status` (retained): online at every connect, offline as last will and on shutdown."""

    state: Literal["online", "offline"]
    firmware: Firmware = ""
    boot_id: Text64 = ""
    reason: Reason = ""
    ts: float = 0.0

    def __post_init__(self) -> None:
        _printable(self.firmware, self.boot_id, self.reason)


class Telemetry(msgspec.Struct, tag_field="type", tag="telemetry", omit_defaults=True):
    """`telemetry`: a gate's health. Every field optional; receivers ignore fields they do not know."""

    ts: float = 0.0
    firmware: Firmware | None = None
    uptime_s: Seconds | None = None
    queue_depth: Count | None = None
    oldest_unsent_s: Seconds | None = None
    refused_events: Count | None = None
    boot_id: Text64 | None = None  # with mono_ns and ts: places events made before the clock was set
    mono_ns: Int64 | None = None
    time_synced: bool | None = None
    frames_per_s: Seconds | None = None
    decodes_per_min: Seconds | None = None
    scans_total: Count | None = None
    cpu_temp_c: float | None = None

    def __post_init__(self) -> None:
        _printable(self.firmware, self.boot_id)


class CommandResult(msgspec.Struct, tag_field="type", tag="cmd_result", omit_defaults=True):
    """A gate's answer to a command, on its telemetry topic."""

    id: Text64
    cmd: Annotated[str, msgspec.Meta(max_length=32)]
    ok: bool
    error: Short = ""

    def __post_init__(self) -> None:
        _printable(self.id, self.cmd, self.error)


class Command(msgspec.Struct, omit_defaults=True):
    """`cmd`: ping, send telemetry now, or resend everything not yet acknowledged."""

    cmd: Annotated[str, msgspec.Meta(max_length=32)]
    id: Text64 = ""

    def __post_init__(self) -> None:
        _printable(self.cmd, self.id)  # echoed back in the gate's result


class TrustSettings(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    public_keys: Annotated[list[Key], msgspec.Meta(max_length=64)] | None = None
    revoked_key_ids: Annotated[list[Text64], msgspec.Meta(max_length=1000)] | None = None


class PolicySettings(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    debounce_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] | None = None
    min_stay_minutes: Annotated[float, msgspec.Meta(ge=0, le=24 * 60)] | None = None
    accept_cccd: bool | None = None
    feedback_seconds: Annotated[float, msgspec.Meta(ge=0.1, le=60)] | None = None


class GateSettings(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    direction: Literal["in", "out", "auto"] | None = None
    portal_url: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class DeletedDeclarations(msgspec.Struct, forbid_unknown_fields=True):
    """`vhd/v1/declarations/deleted` (retained, one for every gate): the declarations deleted while
    their QR was valid, whose QR the gates refuse until it would have expired. A topic of its own,
    not the config's: a gate that does not know it never subscribes, and its config stays strict."""

    declaration_ids: Annotated[list[Text64], msgspec.Meta(max_length=MAX_DELETED)] = []

    def __post_init__(self) -> None:
        _printable(*self.declaration_ids)

    @classmethod
    def carrying(cls, ids: list[str]) -> DeletedDeclarations:
        """The message for `ids`, less any id it cannot carry: a gate refuses the whole list for one."""
        kept = []
        for i in ids:
            try:
                _printable(msgspec.convert(i, Text64))
            except (msgspec.ValidationError, ValueError):
                continue
            kept.append(i)
        return cls(declaration_ids=kept)


class CentralConfig(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """`config` (retained): what the centre may change on a gate, any subset; nothing else."""

    trust: TrustSettings | None = None
    policy: PolicySettings | None = None
    gate: GateSettings | None = None

    def changes(self) -> dict[str, dict[str, object]]:
        """{section: {key: value}} of what this message sets."""
        return {name: msgspec.structs.asdict(section) for name in ("trust", "policy", "gate")
                if (section := getattr(self, name)) is not None}


_T = TypeVar("_T")
_encoder = msgspec.json.Encoder()
_decoders: dict[object, msgspec.json.Decoder] = {}


def encode(message: msgspec.Struct) -> bytes:
    return _encoder.encode(message)


def decode(payload: bytes, kind: type[_T], limit: int = MAX_SMALL_BYTES) -> _T:
    """A message of `kind` from a payload, or MessageError with a one-line reason."""
    if len(payload) > limit:
        raise MessageError(TOO_LARGE, f"{len(payload)} bytes is over the limit of {limit}")
    decoder = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = msgspec.json.Decoder(kind)
    try:
        return decoder.decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        # The reason is decided here, not by the library: msgspec reports invalid UTF-8 as a
        # UnicodeDecodeError, a DecodeError or (past an unknown field) a ValidationError, by version.
        if not _is_utf8(payload):
            raise MessageError(BAD_UTF8, "not UTF-8") from None
        if isinstance(exc, msgspec.ValidationError):
            raise MessageError(BAD_SCHEMA, str(exc)[:200]) from None
        if isinstance(exc, RecursionError):
            raise MessageError(BAD_JSON, "nested too deeply") from None
        raise MessageError(BAD_JSON, str(exc)[:200]) from None


def _is_utf8(payload: bytes) -> bool:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def decode_gate_report(payload: bytes) -> Telemetry | CommandResult:
    """What arrives on a gate's telemetry topic."""
    return decode(payload, Telemetry | CommandResult)  # type: ignore[arg-type]


def batch_body(device_id: str, batch_id: str, events: list[bytes]) -> bytes:
    """A batch from events as the gate's queue keeps them (already encoded): no re-encoding."""
    return encode(EventBatch(device_id, [msgspec.Raw(e) for e in events], batch_id))


def decode_events(payload: bytes) -> tuple[str, list[Event | str | None]]:
    """A batch's device id and its events, each an Event or, for one that is refused, its id
    (None where it has no readable id). MessageError when the batch itself is not one."""
    try:  # one pass in C when every event is good: the common case
        checked = decode(payload, _CheckedBatch, MAX_BATCH_BYTES)
        return checked.device_id, list(checked.events)
    except MessageError:
        pass
    batch = decode(payload, EventBatch, MAX_BATCH_BYTES)
    out: list[Event | str | None] = []
    for raw in batch.events:
        try:
            out.append(decode(bytes(raw), Event, MAX_BATCH_BYTES))
        except MessageError:
            try:
                out.append(decode(bytes(raw), _EventIdOnly, MAX_BATCH_BYTES).event_id)
            except MessageError:
                out.append(None)
    return batch.device_id, out
