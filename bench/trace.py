"""Contact tracing on 10 million check-ins in PostgreSQL: how long one trace takes.

Fills a fresh schema (partitioned by month, 500 checkpoints, 200,000 people, 90 days) with
generate_series, then traces people over one day. Baseline in the same run: one trace with
PostgreSQL's index scans turned off (what the query costs without the indexes). One JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench.common import fill_checkins, temp_schema  # noqa: E402
from centre.reports.tracing import trace  # noqa: E402
from mqtt_bridge.locate import migrate_database  # noqa: E402
from mqtt_bridge.store import open_store  # noqa: E402

START = datetime(2021, 8, 1, tzinfo=UTC)


def fill(store, rows: int, days: int, people: int, checkpoints: int) -> float:
    t0 = time.perf_counter()
    fill_checkins(store, START, rows, days, people, checkpoints)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--people", type=int, default=200_000)
    ap.add_argument("--checkpoints", type=int, default=500)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--traces", type=int, default=20)
    ap.add_argument("--keep", action="store_true", help="keep the schema for another run")
    args = ap.parse_args()
    with temp_schema("vhd_trace", keep=args.keep) as url:
        migrate_database(url)
        store = open_store(url)
        fill_s = fill(store, args.rows, args.days, args.people, args.checkpoints)
        day = START + timedelta(days=args.days // 2)
        times, contacts = [], []
        for k in range(args.traces):
            who = f"VHD-{(k * 7717) % args.people}"
            t0 = time.perf_counter()
            _, found = trace(store, who, day - timedelta(days=3), day + timedelta(days=4))
            times.append(time.perf_counter() - t0)
            contacts.append(len(found))
        with store.conn.transaction():
            store.conn.execute("SET LOCAL enable_indexscan = off")
            store.conn.execute("SET LOCAL enable_bitmapscan = off")
            store.conn.execute("SET LOCAL enable_indexonlyscan = off")
            t0 = time.perf_counter()
            store.conn.execute("SELECT subject, scanned_at FROM checkins WHERE subject = %s AND scanned_at >= %s "
                               "AND scanned_at < %s", ("VHD-0", day - timedelta(days=3), day + timedelta(days=4)))
            no_index = time.perf_counter() - t0
        total = store.count_checkins()
        store.close()
    print(json.dumps({
        "benchmark": "trace",
        "checkins": total,
        "fill_seconds": round(fill_s, 1),
        "traces": len(times),
        "trace_seconds_median": round(statistics.median(times), 4),
        "trace_seconds_max": round(max(times), 4),
        "contacts_median": statistics.median(contacts),
        "baseline_one_lookup_without_indexes_seconds": round(no_index, 3),
        "target_seconds": 1.0,
    }))


if __name__ == "__main__":
    main()
