from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from device.policy import ACCEPTED, REJECTED, REPEAT, PolicyConfig, Seen, decide
from device.queue import EventQueue, QueueError
from protocol import messages
from protocol.credential import Classified, Credential
from protocol.event import Event, format_time, uuid7
from tests.conftest import NOW

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ANH = Classified("vhd", Credential("vhd", "VHD-1", "Nguyễn Thị Vân Anh"), None)


def test_first_scan_is_check_in_and_repeat_within_debounce():
    cfg = PolicyConfig("auto", 5, min_stay_seconds=0)
    d = decide(ANH, None, NOW, TZ, cfg)
    assert (d.outcome, d.direction) == (ACCEPTED, "in")
    seen = Seen(NOW, "in")
    r = decide(ANH, seen, NOW + timedelta(seconds=4.9), TZ, cfg)
    assert (r.outcome, r.direction, r.previous_at) == (REPEAT, "in", NOW)
    out = decide(ANH, seen, NOW + timedelta(seconds=5), TZ, cfg)
    assert (out.outcome, out.direction) == (ACCEPTED, "out")


def test_auto_direction_starts_over_each_local_day():
    cfg = PolicyConfig("auto", 5, min_stay_seconds=0)
    yesterday_in = Seen(NOW - timedelta(days=1), "in")
    assert decide(ANH, yesterday_in, NOW, TZ, cfg).direction == "in"
    # 23:59 and 00:01 local time are different days even though both are the same UTC date.
    late = NOW.replace(hour=16, minute=59)  # 23:59 local
    assert decide(ANH, Seen(late, "in"), late + timedelta(minutes=2), TZ, cfg).direction == "in"


@pytest.mark.parametrize("mode", ["in", "out"])
def test_fixed_direction(mode):
    cfg = PolicyConfig(mode, 5)
    assert decide(ANH, Seen(NOW - timedelta(minutes=1), mode), NOW, TZ, cfg).direction == mode


def test_minimum_stay_a_second_scan_soon_after_is_no_check_out():
    cfg = PolicyConfig("auto", 5)  # default minimum stay: 10 minutes
    arrived = Seen(NOW, "in")
    minute_later = decide(ANH, arrived, NOW + timedelta(minutes=1), TZ, cfg)
    assert (minute_later.outcome, minute_later.direction, minute_later.previous_at) == (REPEAT, "in", NOW)
    leaving = decide(ANH, arrived, NOW + timedelta(minutes=10), TZ, cfg)
    assert (leaving.outcome, leaving.direction) == (ACCEPTED, "out")
    # After a check-out, coming back in at once is an arrival; fixed gates are never held back.
    assert decide(ANH, Seen(NOW, "out"), NOW + timedelta(minutes=1), TZ, cfg).direction == "in"
    assert decide(ANH, arrived, NOW + timedelta(minutes=1), TZ, PolicyConfig("in", 5)).outcome == ACCEPTED


def test_refusal_passes_reason_through():
    d = decide(Classified("vhd", None, "expired"), None, NOW, TZ, PolicyConfig())
    assert (d.outcome, d.reason) == (REJECTED, "expired")


def event(n=0, subject="VHD-1", direction="in"):
    return Event(uuid7(1631669400000 + n, n.to_bytes(10, "big")), "gate-1", "CP-1", direction, "vhd",
                 subject, "Nguyễn Thị Vân Anh", format_time(NOW + timedelta(seconds=n)), n, "boot",
                 True, "0.1")


def test_queue_survives_reopen_and_acks(tmp_path):
    q = EventQueue(tmp_path / "q.sqlite3")
    for n in range(5):
        q.record(event(n, direction="in" if n % 2 == 0 else "out"))
    q.close()
    q = EventQueue(tmp_path / "q.sqlite3")
    assert q.depth() == 5
    assert q.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert q.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    rows = q.pending(limit=3)
    assert [messages.decode(r.body, Event).mono_ns for r in rows] == [0, 1, 2]
    assert q.ack([r.event_id for r in rows] + ["not-there"]) == 3
    assert q.depth() == 2
    assert q.last_seen("vhd", "VHD-1").direction == "in"


def test_state_is_private_and_keyed_per_installation(tmp_path, careless_umask):
    """Under umask 000 the state folder, queue and key are still private; a person's key in the
    presence table and in logs is an HMAC under this gate's own secret, not sha256(id), so a
    12-digit citizen id cannot be recovered by trying every id with a known prefix."""
    import hashlib

    a = EventQueue(tmp_path / "a" / "q.sqlite3")
    b = EventQueue(tmp_path / "b" / "q.sqlite3")
    a.record(event(subject="079203001234"))
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o700
    for name in ("q.sqlite3", "q.sqlite3-wal", "hash-key"):
        assert (tmp_path / "a" / name).stat().st_mode & 0o077 == 0, name
    (stored,) = [r[0] for r in a.conn.execute("SELECT subject_key FROM presence")]
    plain = hashlib.sha256(b"vhd:079203001234").hexdigest()
    assert stored != plain[:32] and stored == a.subject_key("vhd", "079203001234")
    assert a.tag("079203001234") != b.tag("079203001234")  # another installation, another key
    assert a.tag("079203001234") != hashlib.sha256(b"079203001234").hexdigest()[:16]
    a.close()
    again = EventQueue(tmp_path / "a" / "q.sqlite3")
    assert again.last_seen("vhd", "079203001234") is not None  # the key is kept across restarts


def test_presence_holds_no_id_numbers(tmp_path):
    q = EventQueue(tmp_path / "q.sqlite3")
    q.record(event(subject="079203001234"))
    dump = "\n".join(q.conn.iterdump())
    presence = [line for line in dump.splitlines() if "presence" in line]
    assert presence and not any("079203001234" in line for line in presence)


def test_duplicate_event_id_refused(tmp_path):
    q = EventQueue(tmp_path / "q.sqlite3")
    q.record(event(1))
    with pytest.raises(QueueError):
        q.record(event(1))
    assert q.depth() == 1


def test_full_disk_is_a_queue_error_and_loses_nothing_stored(tmp_path):
    q = EventQueue(tmp_path / "q.sqlite3", max_pages=12)
    stored = 0
    with pytest.raises(QueueError, match="full"):
        for n in range(10_000):
            q.record(event(n))
            stored += 1
    assert 0 < stored < 10_000
    assert q.depth() == stored


def test_unopenable_store_is_a_clear_error(tmp_path):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    with pytest.raises(QueueError, match="cannot open"):
        EventQueue(tmp_path / "blocker" / "q.sqlite3")
