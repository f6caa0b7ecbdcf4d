import uuid

import pytest

from protocol.event import Event, EventError, uuid7
from protocol.topics import parse, topic


def sample(**kw):
    base = dict(event_id=uuid7(1631669400000, bytes(range(10))), device_id="gate-01",
                checkpoint_id="CP-1", direction="in", kind="vhd", subject="VHD-1",
                display_name="Nguyễn Thị Vân Anh", scanned_at="2021-09-15T01:30:00.000Z",
                mono_ns=123, boot_id="b", time_synced=True, firmware="0.1.0")
    base.update(kw)
    return base


def test_uuid7_layout_and_order():
    a = uuid.UUID(uuid7(1000, bytes(10)))
    b = uuid.UUID(uuid7(1001, bytes(10)))
    assert a.version == 7 and a.variant == uuid.RFC_4122
    assert str(a) < str(b)
    assert (a.int >> 80) == 1000


def test_round_trip():
    ev = Event.from_dict(sample())
    assert Event.from_dict(ev.to_dict()) == ev


@pytest.mark.parametrize("change", [
    {"event_id": "not-a-uuid"}, {"direction": "sideways"}, {"kind": "passport"},
    {"device_id": "gate/+/#"}, {"scanned_at": "yesterday"}, {"scanned_at": "2021-09-15T01:30:00"},
    {"time_synced": "yes"}, {"mono_ns": True}, {"schema": 2}, {"schema": True}, {"subject": ""},
    {"extra": 1}, {"display_name": "An\x00"}, {"subject": "VHD-1\n"}, {"firmware": 1.0},
    {"boot_id": "\ud800"}, {"mono_ns": 2**70}, {"scanned_at": "0001-01-01T00:00:00Z"},
    {"kind": "cccd", "subject": "VHD-1"}, {"kind": "cccd", "subject": "０７９２０３００１２３４"},
    {"scanned_at": "٢٠٢١-09-15T01:30:00.000Z"},
])
def test_invalid_records_are_refused(change):
    with pytest.raises(EventError):
        Event.from_dict(sample(**change))


def test_a_card_check_in_names_its_citizen_id():
    assert Event.from_dict(sample(kind="cccd", subject="079203001234")).subject == "079203001234"


def test_missing_field_refused():
    data = sample()
    del data["subject"]
    with pytest.raises(EventError):
        Event.from_dict(data)


def test_topics():
    assert topic("gate-01", "events") == "vhd/v1/gates/gate-01/events"
    assert parse("vhd/v1/gates/gate-01/ack") == ("gate-01", "ack")
    assert parse("vhd/v1/gates/gate-01/other") is None
    assert parse("vhd/v2/gates/gate-01/events") is None


@pytest.mark.parametrize("payload", [
    b'{"schema": 1, "device_id": "\xff\xfe"}',
    b'\xc3\x28',
    b'{"device_id": "gate-1", "batch_id": "b", "events": [], "x": "\xed\xa0\x80"}',  # a lone surrogate
])
def test_invalid_utf8_is_named_so_whatever_the_decoder_version(payload):
    from protocol.messages import BAD_UTF8, EventBatch, MessageError, decode

    with pytest.raises(MessageError) as err:
        decode(payload, EventBatch)
    assert err.value.reason == BAD_UTF8


def test_bad_json_in_valid_utf8_stays_bad_json():
    from protocol.messages import BAD_JSON, EventBatch, MessageError, decode

    with pytest.raises(MessageError) as err:
        decode('{"cổng-1'.encode(), EventBatch)
    assert err.value.reason == BAD_JSON


def test_the_deleted_declarations_list_is_refused_whole_when_hostile():
    """What a gate takes from `vhd/v1/declarations/deleted`: ids of printable text, at most 64 long,
    at most MAX_DELETED of them, 8 MB; anything else is refused whole, and the gate keeps its list."""
    import json

    from protocol.messages import (
        BAD_SCHEMA,
        MAX_DELETED,
        MAX_DELETED_BYTES,
        TOO_LARGE,
        DeletedDeclarations,
        MessageError,
        decode,
        encode,
    )

    full = DeletedDeclarations([f"VHD-2026-{i:010d}" for i in range(MAX_DELETED)])
    assert len(decode(encode(full), DeletedDeclarations, MAX_DELETED_BYTES).declaration_ids) == MAX_DELETED
    for bad, reason in ((["VHD-1\n"], BAD_SCHEMA), (["x" * 65], BAD_SCHEMA), ([1], BAD_SCHEMA),
                        ([f"V{i}" for i in range(MAX_DELETED + 1)], BAD_SCHEMA),
                        (["x" * 60] * (MAX_DELETED_BYTES // 60), TOO_LARGE)):
        with pytest.raises(MessageError) as err:
            decode(json.dumps({"declaration_ids": bad}).encode(), DeletedDeclarations, MAX_DELETED_BYTES)
        assert err.value.reason == reason
    with pytest.raises(MessageError):
        decode(b'{"declaration_ids": [], "more": 1}', DeletedDeclarations, MAX_DELETED_BYTES)
    # what the bridge publishes: the ids the message can carry, never one that makes gates refuse it all
    kept = DeletedDeclarations.carrying(["VHD-1", "VHD-2\n", "x" * 65, "VHD-\u202e3", "x" * 64])
    assert kept.declaration_ids == ["VHD-1", "x" * 64]
    assert decode(encode(kept), DeletedDeclarations, MAX_DELETED_BYTES) == kept
