"""The bridge in process against a real mosquitto and PostgreSQL: sharing, hostile input, fleet state."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlparse

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from device.config import MqttSection
from device.queue import EventQueue
from device.uplink import Uplink
from drivers.mqtt import BrokerUrl, MqttLink, RecordingLink
from mqtt_bridge.bridge import Bridge
from mqtt_bridge.locate import migrate_database
from mqtt_bridge.store import open_store
from protocol import messages
from protocol.event import Event, format_time, uuid7
from protocol.messages import Telemetry
from protocol.topics import topic
from tests.services import wait_until

DEVICE, CHECKPOINT = "gate-b-01", "CP-B"
BASE_S = int(time.time()) - 3 * 3600  # recent: the bridge stores only plausible times


def make_event(n: int, device=DEVICE, checkpoint=CHECKPOINT, **kw) -> dict:
    base = dict(event_id=uuid7(BASE_S * 1000 + n, n.to_bytes(10, "big")), device_id=device,
                checkpoint_id=checkpoint, direction="in" if n % 2 == 0 else "out", kind="vhd",
                subject=f"VHD-{n % 500:06d}", display_name="Nguyễn Văn An",
                scanned_at=format_time(datetime.fromtimestamp(BASE_S + n / 10, UTC)),
                mono_ns=n, boot_id="boot", time_synced=True, firmware="0.1.0")
    base.update(kw)
    return base


def fill_queue(path, n: int) -> None:
    """n events straight into a gate's queue, in one transaction (a day offline, quickly)."""
    q = EventQueue(path)
    q.record_many([Event.from_dict(make_event(i)) for i in range(n)])
    q.close()


@pytest.fixture
def store_url(pg_url):
    migrate_database(pg_url)  # what `vhd-centre migrate` does at install
    s = open_store(pg_url)
    s.add_checkpoint(CHECKPOINT, "Cổng B")
    s.add_device(DEVICE, CHECKPOINT)
    s.add_device("gate-b-02", CHECKPOINT)
    s.close()
    return pg_url


class Running:
    def __init__(self, bridge):
        self.bridge = bridge
        self.stop = threading.Event()
        self.thread = threading.Thread(target=bridge.run, args=(self.stop,), daemon=True)

    def __enter__(self):
        self.thread.start()
        assert wait_until(lambda: self.bridge.link.connected and self.bridge.link.subscribed, 10)
        return self.bridge

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)


def start_bridge(url, store_url, **kw):
    return Running(Bridge(open_store(store_url), Bridge.link_for(BrokerUrl.parse(url)), **kw))


def run_uplink(mosquitto, queue_path, device=DEVICE, **cfg):
    settings = MqttSection(url=mosquitto.url, ack_timeout_seconds=5, backoff_min_seconds=0.2,
                           backoff_max_seconds=1, **cfg)
    up = Uplink(settings, device, queue_path, "0.1.0", "boot", Uplink.link_for(settings, device, "0.1.0", "boot"),
                seed=1)
    up.start()
    return up


def test_two_bridges_share_the_load_and_store_each_event_once(mosquitto, store_url, tmp_path):
    fill_queue(tmp_path / "q.sqlite3", 3000)
    with start_bridge(mosquitto.url, store_url) as b1, start_bridge(mosquitto.url, store_url) as b2:
        up = run_uplink(mosquitto, tmp_path / "q.sqlite3", batch_size=20, window=8)
        try:
            assert wait_until(lambda: EventQueue(tmp_path / "q.sqlite3").depth() == 0)
        finally:
            up.stop()
        assert b1.counters["events"] > 0 and b2.counters["events"] > 0  # both took a share
    store = open_store(store_url)
    assert store.count_checkins() == 3000
    assert len({c.event_id for c in store.checkins()}) == 3000


def test_hostile_messages_are_refused_and_counted(mosquitto, store_url):
    good = make_event(1)
    spoof = make_event(2, device="gate-b-02")
    cases = [
        ("bad_json", topic(DEVICE, "events"), b"{not json"),
        ("bad_utf8", topic(DEVICE, "events"), b'{"schema": 1, "device_id": "\xff\xfe"}'),
        ("bad_schema", topic(DEVICE, "events"), json.dumps({"schema": 99, "events": []}).encode()),
        ("bad_schema", topic(DEVICE, "events"), b"[1, 2, 3]"),
        ("too_large", topic(DEVICE, "events"), b"{" + b" " * (1024 * 1024) + b"}"),
        ("device_mismatch", topic(DEVICE, "events"),
         json.dumps({"schema": 1, "device_id": "gate-b-02", "events": [spoof]}).encode()),
        ("device_mismatch", topic(DEVICE, "events"),
         json.dumps({"schema": 1, "device_id": DEVICE, "events": [spoof]}).encode()),
        ("unknown_device", topic("gate-nobody", "events"),
         json.dumps({"schema": 1, "device_id": "gate-nobody",
                     "events": [make_event(3, device="gate-nobody")]}).encode()),
        ("bad_schema", topic(DEVICE, "events"), b"[" * 100000),
        ("bad_json", topic(DEVICE, "events"), b'{"device_id": "gate-b-01", "events": ' + b"[" * 100000),
        # a gate's text goes to the log, the fleet page and a technician's terminal: one line, no escapes
        ("bad_schema", topic(DEVICE, "status"), json.dumps({"state": "online", "firmware": "\x1b]0;x\x07"}).encode()),
        ("bad_schema", topic(DEVICE, "telemetry"), json.dumps({"type": "telemetry", "boot_id": "a\nb"}).encode()),
        ("bad_schema", topic(DEVICE, "telemetry"), json.dumps(
            {"type": "cmd_result", "id": "1", "cmd": "ping", "ok": False,
             "error": "x\nvhd-bridge: gate-b-01 stored 1000 events"}).encode()),
    ]
    sqlish = make_event(4, subject="'); DROP TABLE checkins; --", display_name="Robert'); DROP TABLE--")
    refused_one = make_event(5, direction="sideways")
    with start_bridge(mosquitto.url, store_url) as bridge:
        pub = MqttLink("hostile", BrokerUrl.parse(mosquitto.url), clean_start=True, session_expiry=0)
        pub.connect()
        pub.loop_start()
        acks = []
        listener = MqttLink("listener", BrokerUrl.parse(mosquitto.url), clean_start=True, session_expiry=0,
                            on_message=lambda t, p: acks.append(json.loads(p)))
        listener.connect()
        listener.loop_start()
        try:
            wait_until(lambda: listener.connected, 5)
            listener.subscribe([(topic(DEVICE, "ack"), 1)])
            assert wait_until(lambda: listener.subscribed, 5)
            for _, name, payload in cases:
                pub.publish(name, payload, qos=1)
            pub.publish(topic(DEVICE, "events"), json.dumps(
                {"schema": 1, "device_id": DEVICE, "events": [good, sqlish, refused_one]}).encode(), qos=1)
            assert wait_until(lambda: bridge.counters["events"] >= 2, 20)
            assert wait_until(lambda: acks, 10)
        finally:
            pub.loop_stop()
            listener.loop_stop()
        expected = {}
        for reason, _, _ in cases:
            expected[reason] = expected.get(reason, 0) + 1
        for reason, n in expected.items():
            assert bridge.rejects[reason] == n, reason
        assert bridge.rejects["bad_event"] == 1
    store = open_store(store_url)
    subjects = {c.subject for c in store.checkins()}
    assert subjects == {good["subject"], sqlish["subject"]}
    assert acks[-1]["event_ids"] and {r["event_id"] for r in acks[-1]["refused"]} == {refused_one["event_id"]}


def test_a_gate_answers_commands_and_ignores_one_it_could_not_echo(mosquitto, tmp_path):
    """A command's id and name come back in the gate's result, which the centre reads as printable
    text: one with a line break is ignored as malformed (its result could not be sent) and the
    gate answers the next; an unknown command is answered as such."""
    up = run_uplink(mosquitto, tmp_path / "q.sqlite3")
    results: list[dict] = []
    listener = MqttLink("listener", BrokerUrl.parse(mosquitto.url), clean_start=True, session_expiry=0,
                        on_message=lambda t, p: results.append(json.loads(p)))
    listener.connect()
    listener.loop_start()
    pub = MqttLink("centre", BrokerUrl.parse(mosquitto.url), clean_start=True, session_expiry=0)
    pub.connect()
    pub.loop_start()
    answered = lambda i: any(r.get("type") == "cmd_result" and r["id"] == i for r in results)  # noqa: E731
    try:
        assert wait_until(lambda: listener.connected and pub.connected, 5)
        listener.subscribe([(topic(DEVICE, "telemetry"), 1)])
        assert wait_until(lambda: listener.subscribed, 5)
        for n in range(50):  # until the gate has subscribed to its commands
            pub.publish(topic(DEVICE, "cmd"), json.dumps({"cmd": "ping", "id": f"warm-{n}"}).encode(), qos=1)
            if wait_until(lambda n=n: answered(f"warm-{n}"), 0.2, 0.02):
                break
        for cmd, i in (("ping\nvhd-gate: all events sent", "a"), ("ping", "b"), ("reboot", "c")):
            pub.publish(topic(DEVICE, "cmd"), json.dumps({"cmd": cmd, "id": i}).encode(), qos=1)
        assert wait_until(lambda: answered("c"), 10)
    finally:
        for link in (listener, pub):
            link.loop_stop()
        up.stop()
    got = {r["id"]: r for r in results if r.get("type") == "cmd_result" and not r["id"].startswith("warm")}
    assert set(got) == {"b", "c"}
    assert got["b"]["ok"] is True and got["c"]["ok"] is False and got["c"]["error"] == "unknown command"


def test_a_day_offline_drains_completely(mosquitto, store_url, tmp_path):
    fill_queue(tmp_path / "q.sqlite3", 100_000)
    with start_bridge(mosquitto.url, store_url):
        up = run_uplink(mosquitto, tmp_path / "q.sqlite3", batch_size=500, window=8)
        try:
            assert wait_until(lambda: EventQueue(tmp_path / "q.sqlite3").depth() == 0, timeout=240, step=1)
        finally:
            up.stop()
    assert open_store(store_url).count_checkins() == 100_000


def test_status_telemetry_and_offline_will_reach_devices_table(mosquitto, store_url, tmp_path):
    fill_queue(tmp_path / "q.sqlite3", 3)
    with start_bridge(mosquitto.url, store_url):
        up = run_uplink(mosquitto, tmp_path / "q.sqlite3", telemetry_seconds=0.5)
        store = open_store(store_url)

        def row():
            return next(r for r in store.device_rows() if r["device_id"] == DEVICE)

        assert wait_until(lambda: row()["online"] and row()["queue_depth"] == 0, 20)
        assert row()["firmware"] == "0.1.0" and row()["last_seen"] is not None
        up.stop()
        assert wait_until(lambda: not row()["online"], 20)


def test_the_fleet_hears_at_once_when_a_gate_queue_drains(mosquitto, store_url, tmp_path):
    """Telemetry comes once an hour here; the report after the backlog is gone must not wait for it."""
    fill_queue(tmp_path / "q.sqlite3", 300)
    with start_bridge(mosquitto.url, store_url):
        up = run_uplink(mosquitto, tmp_path / "q.sqlite3", telemetry_seconds=3600, batch_size=10, window=2)
        store = open_store(store_url)
        try:
            def depth():
                return next(r for r in store.device_rows() if r["device_id"] == DEVICE)["queue_depth"]

            assert wait_until(lambda: (depth() or 0) > 0, 20)  # the first report: a backlog
            assert wait_until(lambda: depth() == 0, 30)  # drained, and said so without the hour's wait
        finally:
            up.stop()
            store.close()


def test_central_config_reaches_gate(mosquitto, tmp_path):
    received = []
    settings = MqttSection(url=mosquitto.url)
    up = Uplink(settings, DEVICE, tmp_path / "q.sqlite3", "0.1.0", "boot",
                Uplink.link_for(settings, DEVICE, "0.1.0", "boot"), on_config=lambda d: received.append(d))
    EventQueue(tmp_path / "q.sqlite3").close()
    central = MqttLink("centre", BrokerUrl.parse(mosquitto.url), clean_start=True, session_expiry=0)
    central.connect()
    central.loop_start()
    try:
        wait_until(lambda: central.connected, 5)
        info = central.publish(topic(DEVICE, "config"),
                               json.dumps({"trust": {"revoked_key_ids": ["00112233aabbccdd"]}}).encode(),
                               qos=1, retain=True)
        info.wait_for_publish(5)
        up.start()  # the retained config arrives on subscribe
        assert wait_until(lambda: received, 10)
    finally:
        up.stop()
        central.loop_stop()
    assert received[0].changes() == {"trust": {"public_keys": None, "revoked_key_ids": ["00112233aabbccdd"]}}


def test_events_command_prints_json_lines(tmp_path, capsys):
    from mqtt_bridge.cli import main

    db = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    # registering went to vhd-provision, which makes the poster and the broker login too
    assert main(["add-checkpoint", CHECKPOINT, "--name", "Cổng B", "--db", db]) == 1
    assert "use 'vhd-provision checkpoint add'" in capsys.readouterr().err
    migrate_database(db)  # what `vhd-centre migrate` does at install
    store = open_store(db)
    store.add_checkpoint(CHECKPOINT, "Cổng B")
    store.add_device(DEVICE, CHECKPOINT)
    events = [Event.from_dict(make_event(n)) for n in range(3)]
    assert store.insert_checkins(events) == 3
    assert store.insert_checkins(events) == 0  # a retry changes nothing
    store.close()
    capsys.readouterr()
    assert main(["events", "--db", db]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["event_id"] for line in lines] == [e.event_id for e in events]
    assert set(lines[0]) == {"event_id", "device_id", "checkpoint_id", "subject", "direction", "scanned_at"}
    assert main(["events", "--db", "mysql://nope"]) == 1
    assert "unsupported database URL" in capsys.readouterr().err


def test_pg_partitions_by_month_and_dedupes(store_url):
    store = open_store(store_url)
    evs = [Event.from_dict(make_event(n, scanned_at=t)) for n, t in enumerate(
        ["2021-09-30T23:59:59.999Z", "2021-10-01T00:00:00.000Z", "1970-01-01T00:00:00.000Z"])]
    assert store.insert_checkins(evs) == 3
    assert store.insert_checkins(evs) == 0
    with store.conn.transaction():
        parts = {r[0] for r in store.conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'checkins' "
            "AND p.relnamespace = current_schema()::regnamespace")}
    assert {"checkins_y2021m09", "checkins_y2021m10", "checkins_default"} <= parts
    assert store.count_checkins() == 3


class PoisonStore:
    """A real SQLite store that, like a database refusing data, rejects one subject as data."""

    def __init__(self, path):
        from mqtt_bridge.store import SqliteStore

        migrate_database(f"sqlite:///{path}")
        self.inner = SqliteStore(path)
        self.inner.add_checkpoint(CHECKPOINT, "Cổng B")
        self.inner.add_device(DEVICE, CHECKPOINT)

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def insert_checkins(self, events):
        from mqtt_bridge.store import StoreError

        if any(e.subject == "POISON" for e in events):
            raise StoreError("value refused", transient=False)
        return self.inner.insert_checkins(events)


def test_one_event_the_database_refuses_does_not_block_the_rest(tmp_path):
    store = PoisonStore(tmp_path / "c.db")
    bridge = Bridge(store, RecordingLink)  # no broker: the fake link records the acks
    bridge.link.connect()
    events = [make_event(1), make_event(2, subject="POISON"), make_event(3)]
    bridge.process([(topic(DEVICE, "events"), json.dumps(
        {"schema": 1, "device_id": DEVICE, "events": events}).encode())])
    assert store.inner.count_checkins() == 2
    ((name, ack),) = [(t, json.loads(p)) for t, p, _, _ in bridge.link.published]
    assert name == topic(DEVICE, "ack")
    assert sorted(ack["event_ids"]) == sorted([events[0]["event_id"], events[2]["event_id"]])
    assert ack["refused"] == [{"event_id": events[1]["event_id"], "reason": "db_refused"}]
    assert bridge.rejects["db_refused"] == 1


def test_a_database_that_cannot_write_now_refuses_nothing_and_stores_all_once_put_right(store_url):
    """A database made read-only (maintenance, a standby after a failover) fails every write with
    SQLSTATE 25006: that is no fault of the events, so the bridge holds them, refuses none (a gate
    stops sending what is refused) and stores every one once writes pass again."""
    from tests.services import READ_ONLY, before_write

    store = open_store(store_url)
    bridge = Bridge(store, RecordingLink)
    bridge.link.connect()
    events = [make_event(n) for n in range(1, 4)]
    worker = threading.Thread(target=bridge.process, args=([(topic(DEVICE, "events"), json.dumps(
        {"schema": 1, "device_id": DEVICE, "events": events}).encode())],))
    try:
        with before_write(store_url, ("checkins",), READ_ONLY):
            worker.start()
            assert wait_until(lambda: bridge.counters["db_retries"] >= 2, 10)  # held, tried again
            assert bridge.link.published == [] and store.count_checkins() == 0
        worker.join(30)  # the database is put right
        assert not worker.is_alive()
    finally:
        bridge._stop.set()
        if worker.is_alive():  # not when the trigger could not be made and it never started
            worker.join(10)
    ((name, ack),) = [(t, json.loads(p)) for t, p, _, _ in bridge.link.published]
    assert sorted(ack["event_ids"]) == sorted(e["event_id"] for e in events) and not ack.get("refused")
    assert store.count_checkins() == 3 and bridge.rejects.get("db_refused", 0) == 0
    store.close()


def test_a_damaged_sqlite_file_refuses_no_event(tmp_path):
    """"database disk image is malformed" is the file's fault, not the events': the bridge holds
    them (the gates keep them queued) until the file is restored, and refuses none."""
    from mqtt_bridge.store import StoreError

    path = tmp_path / "c.db"
    migrate_database(f"sqlite:///{path}")
    store = open_store(f"sqlite:///{path}")
    store.add_checkpoint(CHECKPOINT, "Cổng B")
    store.add_device(DEVICE, CHECKPOINT)
    store.insert_checkins([Event.from_dict(make_event(n)) for n in range(1, 50)])
    root, size = store.conn.execute("SELECT rootpage, (SELECT page_size FROM pragma_page_size()) FROM sqlite_master "
                                    "WHERE name = 'checkins'").fetchone()
    store.close()
    with open(path, "r+b") as f:  # the table's first page overwritten, as a failing card might
        f.seek((root - 1) * size)
        f.write(b"\xff" * 64)
    store = open_store(f"sqlite:///{path}")
    with pytest.raises(StoreError) as err:
        store.insert_checkins([Event.from_dict(make_event(99))])
    assert "malformed" in str(err.value) and err.value.transient
    bridge = Bridge(store, RecordingLink)
    bridge.link.connect()
    worker = threading.Thread(target=bridge.process, args=([(topic(DEVICE, "events"), json.dumps(
        {"schema": 1, "device_id": DEVICE, "events": [make_event(99), make_event(100)]}).encode())],))
    worker.start()
    assert wait_until(lambda: bridge.counters["db_retries"] >= 2, 10)
    bridge._stop.set()
    worker.join(10)
    assert bridge.link.published == [] and bridge.rejects.get("db_refused", 0) == 0  # nothing acked or refused
    store.close()


def test_bridge_started_late_learns_retained_status(mosquitto, store_url, tmp_path):
    fill_queue(tmp_path / "q.sqlite3", 1)
    up = run_uplink(mosquitto, tmp_path / "q.sqlite3")
    try:
        assert wait_until(lambda: up.state() == "online", 10)
        # The gate subscribes after it publishes "online": once that SUBACK is back, the broker
        # holds the retained status before any bridge runs.
        assert wait_until(lambda: up.link.subscribed, 10)
        store = open_store(store_url)
        with start_bridge(mosquitto.url, store_url):
            assert wait_until(lambda: next(r for r in store.device_rows() if r["device_id"] == DEVICE)["online"], 10)
    finally:
        up.stop()


# --- no message may stop or blind the centre --------------------------------------------------

EXTREME_TIMES = ["9999-12-31T23:59:59.000-14:00", "0001-01-01T00:00:00.000+14:00", "9999-12-31T23:59:59Z",
                 "0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "2099-01-01T00:00:00.000+23:59",
                 "2021-02-30T00:00:00Z", "not a time", "", "2021-09-15T08:30:00"]


def _offset_time(d: datetime, minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return d.isoformat(timespec="milliseconds") + f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


_times = st.one_of(
    st.sampled_from(EXTREME_TIMES),
    st.builds(_offset_time, st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
              st.integers(-14 * 60, 14 * 60)))
_junk = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20))
_hostile_event = st.fixed_dictionaries({
    "scanned_at": st.one_of(_times, _junk),
    "mono_ns": st.one_of(st.integers(), _junk),
    "time_synced": st.one_of(st.booleans(), _junk),
    "display_name": st.one_of(st.text(max_size=200), _junk),
    "subject": st.one_of(st.text(min_size=1, max_size=70), _junk),
    "boot_id": st.one_of(st.text(max_size=70), _junk),
    "direction": st.sampled_from(["in", "out", "sideways"]),
}, optional={"schema": _junk, "extra": _junk})


@pytest.fixture
def running_bridge(mosquitto, store_url):
    with start_bridge(mosquitto.url, store_url) as bridge:
        pub = MqttLink("prober", BrokerUrl.parse(mosquitto.url), clean_start=True, session_expiry=0)
        pub.connect()
        pub.loop_start()
        assert wait_until(lambda: pub.connected, 5)
        store = open_store(store_url)
        yield bridge, pub, store
        pub.loop_stop()
        store.close()


def _stored(store, event_id: str) -> bool:
    return store.query("SELECT count(*) AS n FROM checkins WHERE event_id = ?", (event_id,))[0]["n"] == 1


_probe = iter(range(10**6, 10**7))


@settings(max_examples=30, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(_hostile_event, min_size=1, max_size=4), wrapper_schema=st.one_of(st.just(1), _junk))
def test_generated_hostile_events_never_stop_the_bridge(running_bridge, events, wrapper_schema):
    """Generated event JSON (extreme dates and offsets, wrong types, long names) through the real
    bridge on a real broker; after each message a valid event must still land."""
    bridge, pub, store = running_bridge
    n = next(_probe)
    body = [make_event(n * 10 + i, **e) for i, e in enumerate(events)]
    pub.publish(topic(DEVICE, "events"), json.dumps(
        {"schema": wrapper_schema, "device_id": DEVICE, "events": body}).encode(), qos=1)
    good = make_event(n * 10 + 9, scanned_at=format_time(datetime.now(UTC)))
    pub.publish(topic(DEVICE, "events"), json.dumps(
        {"schema": 1, "device_id": DEVICE, "events": [good]}).encode(), qos=1)
    assert wait_until(lambda: _stored(store, good["event_id"]), 10, 0.02)
    assert bridge.link.connected


_report = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["telemetry", "cmd_result", "other", ""]), "ts": st.one_of(st.floats(), _junk),
    "queue_depth": st.one_of(st.integers(), _junk), "oldest_unsent_s": st.one_of(st.floats(), _junk),
    "time_synced": _junk, "boot_id": st.one_of(st.text(max_size=80), _junk), "mono_ns": st.one_of(st.integers(), _junk),
    "firmware": st.one_of(st.text(max_size=40), _junk), "cpu_temp_c": st.one_of(st.floats(), _junk),
    "state": st.one_of(st.sampled_from(["online", "offline"]), _junk), "id": _junk, "cmd": _junk, "ok": _junk,
    "nested": st.recursive(_junk, lambda inner: st.lists(inner, max_size=3), max_leaves=8)})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(report=_report, channel=st.sampled_from(["status", "telemetry"]))
def test_generated_status_and_telemetry_never_stop_the_bridge(store_url, report, channel):
    """Status and telemetry as a hostile gate might send them (huge counts, NaN and infinite
    floats, wrong types, nesting) into the real database: refused or stored, never a crash, and
    the fleet table stays readable."""
    store = open_store(store_url)
    try:
        bridge = Bridge(store, RecordingLink)
        payload = json.dumps(report).encode()  # NaN and Infinity included, as Python writes them
        bridge._received(topic(DEVICE, channel), payload)
        bridge._process_guarded(bridge._take())
        assert bridge.rejects["internal_error"] == 0
        row = next(r for r in store.device_rows() if r["device_id"] == DEVICE)
        assert row["queue_depth"] is None or 0 <= row["queue_depth"] < 2**31
        # and the next honest report is recorded
        bridge._received(topic(DEVICE, "telemetry"), messages.encode(Telemetry(ts=time.time(), queue_depth=7)))
        bridge._process_guarded(bridge._take())
        assert next(r for r in store.device_rows() if r["device_id"] == DEVICE)["queue_depth"] == 7
    finally:
        store.close()


def _ack_listener(mosquitto, acks):
    listener = MqttLink("ack-listener", BrokerUrl.parse(mosquitto.url), clean_start=True, session_expiry=0,
                        on_message=lambda t, p: acks.append(json.loads(p)))
    listener.connect()
    listener.loop_start()
    assert wait_until(lambda: listener.connected, 5)
    listener.subscribe([(topic(DEVICE, "ack"), 1)])
    assert wait_until(lambda: listener.subscribed, 5)
    return listener


def test_times_checked_and_unsynchronised_clocks_placed_later(mosquitto, running_bridge):
    """A synchronised clock's impossible time is refused to the gate with its reason; an
    unsynchronised one's is acked, held, and placed once that boot reports a synchronised clock."""
    bridge, pub, store = running_bridge
    now = time.time()
    acks: list[dict] = []
    listener = _ack_listener(mosquitto, acks)
    try:
        future = make_event(1, scanned_at=format_time(datetime.fromtimestamp(now + 86400, UTC)))
        ancient = make_event(2, scanned_at=format_time(datetime.fromtimestamp(now - 40 * 86400, UTC)))
        early = make_event(3, scanned_at="1970-01-01T00:00:10.000Z", time_synced=False, boot_id="boot-x",
                           mono_ns=10 * 10**9)
        pub.publish(topic(DEVICE, "events"), json.dumps(
            {"schema": 1, "device_id": DEVICE, "events": [future, ancient, early]}).encode(), qos=1)
        assert wait_until(lambda: acks, 10, 0.05)
        refused = {r["event_id"]: r["reason"] for r in acks[0]["refused"]}
        assert refused == {future["event_id"]: "implausible_time", ancient["event_id"]: "implausible_time"}
        assert acks[0]["event_ids"] == [early["event_id"]]  # held at the centre: the gate may delete it
        assert not _stored(store, early["event_id"])
        assert [e.event_id for e in store.unplaced()] == [early["event_id"]]
        # The gate's clock is set: telemetry says so, with its boot and monotonic time.
        pub.publish(topic(DEVICE, "telemetry"), json.dumps(
            {"type": "telemetry", "time_synced": True, "boot_id": "boot-x", "mono_ns": 3600 * 10**9,
             "ts": now}).encode(), qos=1)
        assert wait_until(lambda: _stored(store, early["event_id"]), 10, 0.05)
        row = store.query("SELECT scanned_at FROM checkins WHERE event_id = ?", (early["event_id"],))[0]
        from mqtt_bridge.store import as_time

        assert abs(as_time(row["scanned_at"]).timestamp() - (now - 3590)) < 1.5
        assert wait_until(lambda: store.unplaced() == [], 5, 0.05)  # dropped once stored, just after
        # Later events of that boot without a set clock are placed at once.
        later = make_event(4, scanned_at="1970-01-01T00:01:00.000Z", time_synced=False, boot_id="boot-x",
                           mono_ns=3000 * 10**9)
        pub.publish(topic(DEVICE, "events"), json.dumps(
            {"schema": 1, "device_id": DEVICE, "events": [later]}).encode(), qos=1)
        assert wait_until(lambda: _stored(store, later["event_id"]), 10, 0.05)
    finally:
        listener.loop_stop()


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_an_event_id_is_stored_once_whatever_a_resend_changes(backend, store_url, tmp_path):
    url = store_url if backend == "postgresql" else f"sqlite:///{tmp_path / 'c.db'}"
    migrate_database(url)  # what `vhd-centre migrate` does at install
    store = open_store(url)
    first = Event.from_dict(make_event(7))
    again = Event.from_dict(make_event(7, scanned_at="2021-10-01T00:00:00.000Z", direction="in"))
    assert store.insert_checkins([first]) == 1
    assert store.insert_checkins([again]) == 0  # another month, another partition: still the same event
    assert store.insert_checkins([again, first]) == 0
    assert [c.scanned_at for c in store.checkins()] == [first.scanned_at]


def test_every_page_and_report_survives_any_row(store_url):
    """Rows stored before the bridge checked times (dated 9999 or 0001), names with markup,
    and retention removing the impossible ones (the site's pages: tests/test_site.py)."""

    from centre.reports.figures import checkpoint_days, unit_days
    from centre.reports.retention import purge
    from centre.reports.tracing import trace

    store = open_store(store_url)
    today = datetime.now(UTC)
    rows = [make_event(1, scanned_at="9999-12-31T23:59:59.000Z", subject="VHD-FAR"),
            make_event(2, scanned_at="0001-01-01T00:00:00.000Z", subject="VHD-FAR"),
            make_event(3, scanned_at=format_time(today), display_name="<script>alert(1)</script>",
                       subject="VHD-FAR")]
    for r in rows:  # straight into the table, as an older bridge would have stored them
        store.execute("INSERT INTO checkins (event_id, scanned_at, device_id, checkpoint_id, direction, kind, "
                      "subject, display_name, mono_ns, boot_id, time_synced, firmware) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (r["event_id"], r["scanned_at"], DEVICE, CHECKPOINT, r["direction"], "vhd", r["subject"],
                       r["display_name"], 0, "b", True, "0.1"))
    assert checkpoint_days(store, today.date(), today.date())
    assert unit_days(store, today.date() - timedelta(days=300), today.date())
    trace(store, "VHD-FAR", datetime(2021, 1, 1, tzinfo=UTC), today + timedelta(days=1), timedelta(hours=4))
    p = purge(store)
    assert (p.checkins, p.future) == (1, 1)
    assert store.count_checkins() == 1


def test_bridge_waits_for_its_database_and_broker(tmp_path, pg_url):
    """Started while PostgreSQL is cut off and no broker listens: it says what it waits for, and
    runs once both come."""
    import subprocess
    import sys

    from provisioning.mosquitto import LocalMosquitto, free_port
    from tests.chain import ROOT, via_port
    from tests.services import StderrReader, TcpProxy

    migrate_database(pg_url)  # what `vhd-centre migrate` does at install: the bridge never migrates
    u = urlparse(pg_url)
    proxy = TcpProxy(u.hostname or "127.0.0.1", u.port or 5432)
    proxy.cut()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "mqtt_bridge.cli", "run", "--broker",
                             f"mqtt://127.0.0.1:{port}", "--db", via_port(pg_url, proxy.port)],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True)
    reader = StderrReader(proc)
    broker = LocalMosquitto(tmp_path / "late-broker", port=port)
    try:
        assert any("waiting for the database" in line for line in reader.follow(20))
        proxy.restore()
        assert any("waiting for the broker" in line for line in reader.follow(30))
        broker.start()
        assert any("bridge subscribed" in line for line in reader.follow(30))
        assert proc.poll() is None
    finally:
        proc.terminate()
        assert proc.wait(20) == 0
        broker.stop()
        proxy.close()


def test_uplink_outlives_a_queue_it_cannot_read(mosquitto, store_url, tmp_path, caplog):
    """Before: any error other than the queue's own (a damaged or locked file, a paho error)
    ended the uplink thread for good while the gate kept greeting people. Now it says so once,
    reopens the queue with backoff, and delivers everything once the file can be read again."""
    path = tmp_path / "q.sqlite3"
    fill_queue(path, 10)
    good = path.read_bytes()
    path.write_bytes(b"not a database" * 100)
    with start_bridge(mosquitto.url, store_url):
        up = run_uplink(mosquitto, path)
        try:
            assert wait_until(lambda: "uplink error, retrying" in caplog.text, 10)  # it met the damaged file
            path.write_bytes(good)
            assert wait_until(lambda: open_store(store_url).count_checkins() == 10, 30)
            assert up._thread.is_alive()
        finally:
            up.stop()


def test_bridge_subscribes_on_every_connect_through_its_link(tmp_path):
    """With the recording link (no broker): the shared subscriptions and the plain status one are
    made in on_connect, again after a reconnect; a message handed to the link reaches the inbox."""
    bridge = Bridge(PoisonStore(tmp_path / "c.db"), RecordingLink, group="vhd-bridge")
    bridge.link.connect()
    bridge.link.disconnect()
    bridge.link.connect()
    wanted = {("$share/vhd-bridge/vhd/v1/gates/+/events", 1), ("$share/vhd-bridge/vhd/v1/gates/+/telemetry", 1),
              ("vhd/v1/gates/+/status", 1)}
    assert set(bridge.link.subscriptions) == wanted and len(bridge.link.subscriptions) == 6
    bridge.link.deliver(topic(DEVICE, "events"), b"{}")
    assert bridge.inbox.get_nowait() == (topic(DEVICE, "events"), b"{}")


def test_uplink_sends_acks_and_says_offline_through_its_link(tmp_path):
    """The uplink with the recording link, no broker: status online and subscriptions on connect,
    the queue sent as a batch, deleted only for the ids acked, offline status on stop."""
    fill_queue(tmp_path / "q.sqlite3", 3)
    links = []

    def factory(**handlers):
        links.append(RecordingLink(**handlers))
        return links[-1]

    settings = MqttSection(url="mqtt://127.0.0.1:1", backoff_min_seconds=0.01, backoff_max_seconds=0.05)
    up = Uplink(settings, DEVICE, tmp_path / "q.sqlite3", "0.1.0", "boot", factory)
    up.start()
    try:
        link = links[0]
        assert wait_until(lambda: any(t == topic(DEVICE, "events") for t, *_ in link.published), 10, 0.02)
        assert (topic(DEVICE, "ack"), 1) in link.subscriptions
        batch = json.loads(next(p for t, p, *_ in link.published if t == topic(DEVICE, "events")))
        ids = [e["event_id"] for e in batch["events"]]
        link.deliver(topic(DEVICE, "ack"), json.dumps({"event_ids": ids[:2], "refused": []}).encode())
        assert wait_until(lambda: EventQueue(tmp_path / "q.sqlite3").depth() == 1, 10, 0.02)
    finally:
        up.stop()
    statuses = [json.loads(p)["state"] for t, p, *_ in links[0].published if t == topic(DEVICE, "status")]
    assert statuses[0] == "online" and statuses[-1] == "offline"


def test_the_bridge_refuses_a_schema_it_was_not_built_for(pg_url, tmp_path):
    """Older: it says which command upgrades it; newer (a bridge left behind by an upgrade): it
    says to upgrade the bridge. Either way it ingests nothing into a schema it does not know."""
    import subprocess
    import sys

    from mqtt_bridge.schema import SCHEMA
    from provisioning.mosquitto import free_port
    from tests.chain import ROOT

    def run() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "mqtt_bridge.cli", "run", "--broker",
                               f"mqtt://127.0.0.1:{free_port()}", "--db", pg_url], cwd=ROOT, capture_output=True,
                              text=True, timeout=60)

    r = run()  # an empty database
    assert r.returncode == 1 and f"older than this bridge (it needs migration {'.'.join(SCHEMA)})" in r.stderr
    assert "vhd-centre migrate" in r.stderr and "Traceback" not in r.stderr
    migrate_database(pg_url)  # what `vhd-centre migrate` does at install
    import psycopg

    with psycopg.connect(pg_url) as conn:  # a later release's migration, applied by a newer centre
        conn.execute("INSERT INTO django_migrations (app, name, applied) VALUES (%s, '9999_later', now())",
                     (SCHEMA[0],))
    r = run()
    assert r.returncode == 1 and f"newer than this bridge knows ({SCHEMA[0]}.9999_later)" in r.stderr


def test_a_borrowed_connection_keeps_one_store_while_idle_and_a_fresh_one_inside_its_owners_transaction(store_url):
    """The web site's connection: the store over it is kept while it lives (partitions and the
    staging table are not looked up again per check-in), but inside the owner's own transaction,
    which may roll back what the store makes, a fresh one; every event is stored once either way."""
    import psycopg

    from mqtt_bridge.store_pg import PgStore

    conn = psycopg.connect(store_url, autocommit=True)
    try:
        first = PgStore.borrowing(conn)
        assert first.insert_checkins([Event.from_dict(make_event(1))]) == 1
        # one event needs no staging table; its month's partition is remembered
        assert PgStore.borrowing(conn) is first and first._partitions and not first._staging
        with conn.transaction(force_rollback=True):
            inside = PgStore.borrowing(conn)
            assert inside is not first and not inside._staging
            assert inside.insert_checkins([Event.from_dict(make_event(2))]) == 1
        assert PgStore.borrowing(conn) is first
        assert first.insert_checkins([Event.from_dict(make_event(1)), Event.from_dict(make_event(2))]) == 1
        assert first._staging and first.count_checkins() == 2  # a batch made the staging table, kept
    finally:
        conn.close()
