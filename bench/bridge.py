"""Bridge throughput into PostgreSQL, beside a bare paho QoS 1 subscriber and a bare COPY.

Publisher-bound: a publisher process sends gate-format messages to a private mosquitto as fast
as it can while a bare paho subscriber (receive only), the bridge with one event a message and
the bridge with batched messages take them.
Consumer-bound: the messages are queued at the broker for a persistent session first, then the
consumer starts and drains them (the bridge, and a bare paho subscriber, in the same run): what
a bridge does after an outage, and the bridge's own ceiling.
Baselines: a bare COPY of the same rows into an unindexed table, and the floor: the store's own
statements run bare in batches of the same size (COPY into staging, each event id once into the
partitioned table with its indexes, the rollups), the least SQL with the same guarantees, without
MQTT or the bridge's Python around it. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import secrets
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.common import registered_store, start_bridge, temp_schema  # noqa: E402
from drivers.mqtt import BrokerUrl, MqttLink, mqtt_link  # noqa: E402
from mqtt_bridge.bridge import Bridge  # noqa: E402
from mqtt_bridge.schema import CHECKIN_COLUMNS  # noqa: E402
from mqtt_bridge.store import checkin_row, open_store  # noqa: E402
from mqtt_bridge.store_pg import COPY_TO_STAGE, STAGE_TABLE, STORE_FROM_STAGE  # noqa: E402
from protocol.event import Event, format_time, uuid7  # noqa: E402
from protocol.messages import batch_body  # noqa: E402
from protocol.topics import topic  # noqa: E402
from provisioning.mosquitto import LocalMosquitto  # noqa: E402

DEVICES = [f"gate-bench-{i:03d}" for i in range(50)]


BASE_S = int(time.time()) - 6 * 3600  # recent: the bridge stores only plausible times


def event(n: int, device: str) -> dict:
    return dict(event_id=uuid7(BASE_S * 1000 + n, secrets.token_bytes(10)), device_id=device,
                checkpoint_id="CP-BENCH", direction="in" if n % 2 else "out", kind="vhd",
                subject=f"VHD-{n % 5000:06d}", display_name="Nguyễn Văn An",
                scanned_at=format_time(datetime.fromtimestamp(BASE_S + n / 1000, UTC)),
                mono_ns=n * 1_000_000, boot_id="boot", time_synced=True, firmware="0.1.0")


def messages(total_events: int, per_message: int) -> list[tuple[str, bytes]]:
    out = []
    for start in range(0, total_events, per_message):
        device = DEVICES[(start // per_message) % len(DEVICES)]
        evs = [Event.from_dict(event(n, device)).encode()
               for n in range(start, min(start + per_message, total_events))]
        out.append((topic(device, "events"), batch_body(device, str(start), evs)))  # as a gate's uplink
    return out


def publish(url: str, msgs: list[tuple[str, bytes]]) -> None:
    link = MqttLink(f"bench-pub-{os.getpid()}", BrokerUrl.parse(url), clean_start=True, session_expiry=0,
                    max_inflight=200)
    link.connect()
    while not link.connected:
        link.loop(0.05)
    infos = []
    for name, payload in msgs:
        while (info := link.publish(name, payload, qos=1)) is None:
            link.loop(0.01)
        infos.append(info)
        link.loop(0)
    while not all(i.is_published() for i in infos):
        link.loop(0.05)
    link.disconnect()


def run_publisher(url: str, msgs) -> mp.Process:
    proc = mp.get_context("spawn").Process(target=publish, args=(url, msgs))
    proc.start()
    return proc


def raw_subscriber(url: str, msgs) -> float:
    got = []
    done = threading.Event()

    def on_message(_topic, _payload):
        got.append(time.perf_counter())
        if len(got) == len(msgs):
            done.set()

    link = MqttLink("bench-raw-sub", BrokerUrl.parse(url), clean_start=True, session_expiry=0,
                    on_message=on_message,
                    on_connect=lambda: link.subscribe([("$share/raw/vhd/v1/gates/+/events", 1)]))
    link.connect()
    link.loop_start()
    while not link.connected:
        time.sleep(0.05)
    time.sleep(0.3)
    pub = run_publisher(url, msgs)
    done.wait(300)
    pub.join(60)
    link.disconnect()
    link.loop_stop()
    return (len(got) - 1) / (got[-1] - got[0])


def bridge_rate(url: str, db_url: str, msgs, total_events: int) -> float:
    store = open_store(db_url)
    with store.conn.transaction():
        store.conn.execute("TRUNCATE checkins")
    bridge, stop, thread = start_bridge(url, store, group="bench")
    pub = run_publisher(url, msgs)
    while bridge.counters["messages"] == 0:
        time.sleep(0.001)
    t0 = time.perf_counter()
    deadline = time.monotonic() + 300
    while bridge.counters["events"] < total_events and time.monotonic() < deadline:
        time.sleep(0.005)
    elapsed = time.perf_counter() - t0
    pub.join(60)
    stop.set()
    thread.join(10)
    stored = store.count_checkins()
    store.close()
    if stored != total_events:
        raise SystemExit(f"bridge stored {stored} of {total_events}")
    return total_events / elapsed


def _session(client_id: str, url: str, **kw) -> MqttLink:
    """A client whose session (and subscriptions) the broker keeps while it is away."""
    return MqttLink(client_id, BrokerUrl.parse(url), clean_start=False, session_expiry=3600,
                    max_inflight=100, **kw)


def _forget(client_id: str, url: str) -> None:
    """End a persistent session, so it collects nothing of the runs that follow."""
    link = MqttLink(client_id, BrokerUrl.parse(url), clean_start=True, session_expiry=0)
    link.connect()
    link.loop_start()
    while not link.connected:
        time.sleep(0.01)
    link.disconnect()
    link.loop_stop()


_runs = iter(range(1000))


def _queue_for(url: str, subscribe, msgs) -> None:
    """Messages queued at the broker for sessions that subscribed and went away."""
    subscribe()
    pub = run_publisher(url, msgs)
    pub.join(300)


def raw_drain(url: str, msgs) -> float:
    """A bare paho subscriber draining messages queued for its persistent session."""
    got = []
    done = threading.Event()
    run = next(_runs)
    name = f"bench-drain-raw-{os.getpid()}-{run}"

    def on_message(_topic, _payload):
        got.append(time.perf_counter())
        if len(got) == len(msgs):
            done.set()

    def subscribe():
        link = _session(name, url)
        link.connect()
        link.loop_start()
        while not link.connected:
            time.sleep(0.01)
        link.subscribe([(f"$share/rawdrain{run}/vhd/v1/gates/+/events", 1)])
        while not link.subscribed:  # SUBACK before the session goes away
            time.sleep(0.01)
        link.disconnect()
        link.loop_stop()

    _queue_for(url, subscribe, msgs)
    link = _session(name, url, on_message=on_message)
    t0 = time.perf_counter()
    link.connect()
    link.loop_start()
    done.wait(300)
    link.disconnect()
    link.loop_stop()
    _forget(name, url)
    if len(got) != len(msgs):
        raise SystemExit(f"bare subscriber drained {len(got)} of {len(msgs)}")
    return len(msgs) / (got[-1] - t0)


def bridge_drain(url: str, db_url: str, msgs, total_events: int) -> float:
    """The bridge draining messages queued for its persistent session (events stored, acked)."""
    store = open_store(db_url)
    with store.conn.transaction():
        store.conn.execute("TRUNCATE checkins, checkin_ids, checkin_hourly, checkin_people, checkin_daily")
    run = next(_runs)
    name = f"bench-drain-bridge-{os.getpid()}-{run}"
    link = mqtt_link(name, BrokerUrl.parse(url), clean_start=False, session_expiry=3600, max_inflight=100,
                     auto_reconnect=True)

    def subscribe():
        first = Bridge(store, link, group=f"drain{run}")
        stop = threading.Event()
        thread = threading.Thread(target=first.run, args=(stop,), daemon=True)
        thread.start()
        while not (first.link.connected and first.link.subscribed):
            time.sleep(0.01)
        stop.set()
        thread.join(10)

    _queue_for(url, subscribe, msgs)
    bridge = Bridge(store, link, group=f"drain{run}")
    stop = threading.Event()
    thread = threading.Thread(target=bridge.run, args=(stop,), daemon=True)
    t0 = time.perf_counter()
    thread.start()
    deadline = time.monotonic() + 300
    while bridge.counters["events"] < total_events and time.monotonic() < deadline:
        time.sleep(0.005)
    elapsed = time.perf_counter() - t0
    stop.set()
    thread.join(10)
    _forget(name, url)
    stored = store.count_checkins()
    store.close()
    if stored != total_events:
        raise SystemExit(f"bridge drained {stored} of {total_events}")
    return total_events / elapsed


def raw_copy(db_url: str, n: int) -> float:
    rows = [checkin_row(Event.from_dict(event(i, DEVICES[0]))) for i in range(n)]
    with psycopg.connect(db_url) as conn:
        conn.execute("CREATE TEMP TABLE copy_target (LIKE checkins INCLUDING DEFAULTS)")
        t0 = time.perf_counter()
        with conn.cursor().copy(f"COPY copy_target ({', '.join(CHECKIN_COLUMNS)}) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)
        conn.commit()
        return n / (time.perf_counter() - t0)


def sql_floor(db_url: str, n: int, per_message: int) -> float:
    """The least that gives the bridge's guarantees, with no MQTT, decoding or bridge around it:
    batches of `per_message` rows, each in one transaction of the store's own statements (COPY
    into the staging table, then each event id once into the partitioned table, its indexes and
    the rollups). Events/s."""
    rows = [checkin_row(Event.from_dict(event(10_000_000 + i, DEVICES[i % len(DEVICES)]))) for i in range(n)]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(STAGE_TABLE)
        t0 = time.perf_counter()
        for start in range(0, n, per_message):
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(COPY_TO_STAGE) as cp:
                    for r in rows[start:start + per_message]:
                        cp.write_row(r)
                cur.execute(STORE_FROM_STAGE)
                if cur.fetchone()[0] != len(rows[start:start + per_message]):
                    raise SystemExit("the floor stored fewer rows than it was given")
        return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=20000, help="one-event messages")
    ap.add_argument("--batched-events", type=int, default=200000)
    ap.add_argument("--per-message", type=int, default=200)
    args = ap.parse_args()
    with temp_schema("vhd_bench") as db_url:
        registered_store(db_url, "CP-BENCH", DEVICES).close()
        single = messages(args.messages, 1)
        batched = messages(args.batched_events, args.per_message)
        with tempfile.TemporaryDirectory() as tmp, LocalMosquitto(Path(tmp) / "mq") as broker:
            raw = raw_subscriber(broker.url, single)
            one = bridge_rate(broker.url, db_url, single, args.messages)
            many = bridge_rate(broker.url, db_url, batched, args.batched_events)
            drain_raw = raw_drain(broker.url, single)
            drain_one = bridge_drain(broker.url, db_url, single, args.messages)
            drain_raw_batched = raw_drain(broker.url, batched)
            drain_many = bridge_drain(broker.url, db_url, batched, args.batched_events)
        copy_rate = raw_copy(db_url, 100_000)
        floor = sql_floor(db_url, args.batched_events, args.per_message)
    print(json.dumps({
        "benchmark": "bridge",
        "events_per_s": round(one),
        "batched_events_per_s": round(many),
        "raw_subscriber_msgs_per_s": round(raw),
        "raw_copy_rows_per_s": round(copy_rate),
        "single_vs_raw_subscriber": round(one / raw, 2),
        "batched_vs_raw_copy": round(many / copy_rate, 3),
        "floor_events_per_s": round(floor),
        "batched_vs_floor": round(many / floor, 2),
        "drain_batched_vs_floor": round(drain_many / floor, 2),
        "drain_events_per_s": round(drain_one),
        "drain_raw_subscriber_msgs_per_s": round(drain_raw),
        "drain_single_vs_raw_subscriber": round(drain_one / drain_raw, 2),
        "drain_batched_events_per_s": round(drain_many),
        "drain_raw_subscriber_batched_msgs_per_s": round(drain_raw_batched),
        "drain_batched_vs_raw_copy": round(drain_many / copy_rate, 3),
        "events_per_message_batched": args.per_message,
        "targets": {"single_vs_raw_subscriber": 0.7, "batched_events_per_s": 20000, "batched_vs_floor": 0.7},
    }))


if __name__ == "__main__":
    main()
