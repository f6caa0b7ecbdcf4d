"""A one-site centre on SQLite: check-ins stored per second with the rollups every insert keeps
(what the live page and the reports read), against the baseline of the same batches inserted
without them (one executemany, as the store did before the rollups), in the same run on the same
table. Prints one JSON line.

    .venv/bin/python bench/sqlite_ingest.py [--events 100000] [--batch 200]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import registered_store  # noqa: E402
from mqtt_bridge.schema import CHECKIN_COLUMNS  # noqa: E402
from mqtt_bridge.store import checkin_row  # noqa: E402
from protocol.event import Event, format_time, uuid7  # noqa: E402


def events(n: int, salt: int) -> list[Event]:
    start = datetime(2021, 9, 15, 0, 30, tzinfo=UTC)
    out = []
    for i in range(n):
        at = start + timedelta(seconds=7 * i)
        out.append(Event.from_dict({
            "event_id": uuid7(int(at.timestamp() * 1000), (salt * 10**9 + i).to_bytes(10, "big")),
            "device_id": "gate-1", "checkpoint_id": "CP-1", "direction": "in" if i % 3 else "out", "kind": "vhd",
            "subject": f"VHD-2021-{i % 5000:06d}", "display_name": "Người dân", "scanned_at": format_time(at),
            "mono_ns": i, "boot_id": "b", "time_synced": True, "firmware": "0.1.0"}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=200, help="events per gate message")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "centre.sqlite3"
        store = registered_store(f"sqlite:///{db}", "CP-1", ["gate-1"])
        evs = events(args.events, 1)
        t = time.perf_counter()
        for i in range(0, len(evs), args.batch):
            store.insert_checkins(evs[i:i + args.batch])
        with_rollups = time.perf_counter() - t
        store.close()
        # Baseline: the same number of new events, the same batches, into the same table, no rollups.
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # as the store runs it
        sql = f"INSERT OR IGNORE INTO checkins ({', '.join(CHECKIN_COLUMNS)}) VALUES ({', '.join('?' * 12)})"
        base = events(args.events, 2)
        t = time.perf_counter()
        for i in range(0, len(base), args.batch):
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, [checkin_row(e) for e in base[i:i + args.batch]])
            conn.execute("COMMIT")
        baseline = time.perf_counter() - t
        conn.close()
    print(json.dumps({"bench": "sqlite_ingest", "events": args.events, "batch": args.batch,
                      "events_per_s": round(args.events / with_rollups), "baseline_events_per_s":
                      round(args.events / baseline), "baseline": "same batches, no rollups (executemany)"}))


if __name__ == "__main__":
    main()
