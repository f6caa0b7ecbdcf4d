"""Backlog drain: a gate that was offline comes back with 50,000 queued events.

The real uplink (batches, app-level acks, deletes) drains the gate's SQLite queue through a
private mosquitto into the real bridge and PostgreSQL. Baseline in the same run: the same
batches published QoS 1 with no bridge and no acks (the broker link alone). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench.bridge import event  # noqa: E402
from bench.common import registered_store, start_bridge, temp_schema  # noqa: E402
from device.config import MqttSection  # noqa: E402
from device.queue import EventQueue  # noqa: E402
from device.uplink import Uplink  # noqa: E402
from drivers.mqtt import BrokerUrl, MqttLink  # noqa: E402
from protocol.topics import topic  # noqa: E402
from provisioning.mosquitto import LocalMosquitto  # noqa: E402

DEVICE = "gate-drain-01"


def fill(path: Path, n: int) -> list[dict]:
    evs = [event(i, DEVICE) for i in range(n)]
    for e in evs:
        e["checkpoint_id"] = "CP-DRAIN"
    q = EventQueue(path)
    with q.conn:
        q.conn.execute("BEGIN")
        q.conn.executemany("INSERT INTO events (event_id, body, created_at) VALUES (?, ?, ?)",
                           [(e["event_id"], json.dumps(e), time.time()) for e in evs])
    q.close()
    return evs


def raw_publish(url: str, evs: list[dict], batch: int) -> float:
    link = MqttLink("drain-raw", BrokerUrl.parse(url), clean_start=True, session_expiry=0, max_inflight=20)
    link.connect()
    while not link.connected:
        link.loop(0.05)
    t0 = time.perf_counter()
    infos = []
    for i in range(0, len(evs), batch):
        body = json.dumps({"schema": 1, "device_id": DEVICE, "events": evs[i:i + batch]}).encode()
        while (info := link.publish(topic("gate-nobody", "events"), body, qos=1)) is None:
            link.loop(0.01)
        infos.append(info)
        link.loop(0)
    while not all(i.is_published() for i in infos):
        link.loop(0.01)
    elapsed = time.perf_counter() - t0
    link.disconnect()
    return len(evs) / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--window", type=int, default=4)
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()
    with temp_schema("vhd_drain") as db_url:
        store = registered_store(db_url, "CP-DRAIN", [DEVICE])
        with tempfile.TemporaryDirectory() as tmp, LocalMosquitto(Path(tmp) / "mq") as broker:
            qpath = Path(tmp) / "queue.sqlite3"
            evs = fill(qpath, args.events)
            baseline = raw_publish(broker.url, evs, args.batch)
            _, stop, thread = start_bridge(broker.url, store)
            settings = MqttSection(url=broker.url, batch_size=args.batch, window=args.window)
            up = Uplink(settings, DEVICE, qpath, "0.1.0", "boot", Uplink.link_for(settings, DEVICE, "0.1.0", "boot"))
            q = EventQueue(qpath)
            t0 = time.perf_counter()
            up.start()
            deadline = time.monotonic() + args.timeout
            while q.depth() and time.monotonic() < deadline:
                time.sleep(0.05)
            seconds = time.perf_counter() - t0
            left = q.depth()
            up.stop()
            stop.set()
            thread.join(10)
        stored = store.count_checkins()
        store.close()
    print(json.dumps({
        "benchmark": "drain",
        "events": args.events,
        "seconds": round(seconds, 2),
        "events_per_s": round((args.events - left) / seconds),
        "left_in_queue": left,
        "stored_in_database": stored,
        "baseline_raw_publish_events_per_s": round(baseline),
        "target_events_per_s": 2000,
    }))


if __name__ == "__main__":
    main()
