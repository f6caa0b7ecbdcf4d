"""Bridge throughput into PostgreSQL, beside a bare paho QoS 1 subscriber and a bare COPY.

A publisher process sends gate-format messages to a private mosquitto as fast as it can. The
same run measures: a bare paho subscriber (receive only), the bridge with one event a message,
the bridge with batched messages, and a bare COPY of the same rows. Prints one JSON line.
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
from drivers.mqtt import BrokerUrl, MqttLink  # noqa: E402
from mqtt_bridge.schema import CHECKIN_COLUMNS  # noqa: E402
from mqtt_bridge.store import checkin_row, open_store  # noqa: E402
from protocol.event import Event, format_time, uuid7  # noqa: E402
from protocol.topics import topic  # noqa: E402
from provisioning.mosquitto import LocalMosquitto  # noqa: E402

DEVICES = [f"gate-bench-{i:03d}" for i in range(50)]


BASE_S = int(time.time()) - 6 * 3600  # recent: the bridge stores only plausible times


def event(n: int, device: str) -> dict:
    return dict(event_id=uuid7(BASE_S * 1000 + n, secrets.token_bytes(10)), device_id=device,
                checkpoint_id="CP-BENCH", direction="in" if n % 2 else "out", kind="vhd",
                subject=f"VHD-{n % 5000:06d}", display_name="Nguyễn Văn An",
                scanned_at=format_time(datetime.fromtimestamp(BASE_S + n / 1000, UTC)),
                mono_ns=n, boot_id="boot", time_synced=True, firmware="0.1.0")


def messages(total_events: int, per_message: int) -> list[tuple[str, bytes]]:
    out = []
    for start in range(0, total_events, per_message):
        device = DEVICES[(start // per_message) % len(DEVICES)]
        evs = [event(n, device) for n in range(start, min(start + per_message, total_events))]
        out.append((topic(device, "events"), json.dumps(
            {"schema": 1, "device_id": device, "batch_id": str(start), "events": evs}).encode()))
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
        copy_rate = raw_copy(db_url, 100_000)
    print(json.dumps({
        "benchmark": "bridge",
        "events_per_s": round(one),
        "batched_events_per_s": round(many),
        "raw_subscriber_msgs_per_s": round(raw),
        "raw_copy_rows_per_s": round(copy_rate),
        "single_vs_raw_subscriber": round(one / raw, 2),
        "events_per_message_batched": args.per_message,
        "targets": {"single_vs_raw_subscriber": 0.7, "batched_events_per_s": 20000},
    }))


if __name__ == "__main__":
    main()
