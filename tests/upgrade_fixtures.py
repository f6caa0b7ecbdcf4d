"""Writes tests/data/upgrade/: databases as earlier releases made them, for the upgrade test.

Each release named below is checked out from this repository's history into a temporary work tree,
and its own code (run with this venv's packages) migrates an empty database, registers a
checkpoint and a gate and stores the same check-ins through its own store; the result is dumped as
SQL. Run by hand when a release changes the schema:
    DATABASE_URL=postgresql://127.0.0.1:5432/test .venv/bin/python tests/upgrade_fixtures.py [RELEASE...]
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "upgrade"
# Releases whose databases are in use: the first with rollups, the first with the portal's
# declaration columns, the last before migrations were frozen, and the last before Django made the
# schema.
RELEASES = ("8de6088", "e51479d", "ff5bfcc", "948235e")
SCHEMA = "upgrade_src"  # the dump's schema name; the test puts its own in its place

# What every release stores, through its own store: 10 check-ins on two local days.
EVENTS = [{
    "event_id": f"0190a000-0000-7000-8000-{i:012d}", "device_id": "gate-u-01", "checkpoint_id": "CP-U1",
    "direction": "in" if i % 3 else "out", "kind": "vhd", "subject": f"VHD-2026-{i % 4:06d}",
    "display_name": "Nguyễn Văn A", "scanned_at": f"2026-11-{10 + i // 6:02d}T0{1 + i % 6}:15:00.000Z",
    "mono_ns": 1000 + i, "boot_id": "boot-1", "time_synced": True, "firmware": "0.1.0", "schema": 1,
} for i in range(10)]

# Run by each release's own code: python -c STORE DATABASE_URL EVENTS_JSON
STORE = r'''
import json, sys
from mqtt_bridge.store import open_store
from protocol.event import Event

store = open_store(sys.argv[1])
if hasattr(store, 'migrate'):  # releases before Django made the schema
    store.migrate()
store.add_checkpoint("CP-U1", "Chợ Bến Thành - Cổng 1", unit="BQL Chợ Bến Thành")
store.add_device("gate-u-01", "CP-U1")
assert store.insert_checkins([Event.from_dict(e) for e in json.loads(sys.argv[2])]) == 10
store.close()
'''


def store_events(url: str, env: dict | None = None, cwd: Path | None = None) -> None:
    """The check-ins stored into `url` by the code on PYTHONPATH (this release's, without `env`,
    into the schema `vhd-centre migrate` makes)."""
    if env is None:
        from mqtt_bridge.locate import migrate_database

        migrate_database(url)
    subprocess.run([sys.executable, "-c", STORE, url, json.dumps(EVENTS)], env=env, check=True, cwd=cwd,
                   capture_output=True)


def make(release: str, pg_admin: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), release], check=True,
                       capture_output=True)
        try:
            env = {**os.environ, "PYTHONPATH": str(tree)}
            db = Path(tmp) / "old.sqlite3"
            store_events(f"sqlite:///{db}", env, tree)
            with sqlite3.connect(db) as conn:
                (OUT / f"{release}.sqlite.sql").write_text("\n".join(conn.iterdump()) + "\n")
            import psycopg

            with psycopg.connect(pg_admin, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
                conn.execute(f"CREATE SCHEMA {SCHEMA}")
            sep = "&" if "?" in pg_admin else "?"
            url = f"{pg_admin}{sep}options=-csearch_path%3D{SCHEMA}"
            store_events(url, env, tree)
            dump = subprocess.run(["pg_dump", "--no-owner", "--no-privileges", "-n", SCHEMA, pg_admin],
                                  check=True, capture_output=True, text=True).stdout
            lines = [x for x in dump.splitlines() if not x.startswith(("SET transaction_timeout", "\\restrict",
                                                                        "\\unrestrict"))]
            (OUT / f"{release}.postgresql.sql").write_text("\n".join(lines) + "\n")
            with psycopg.connect(pg_admin, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)
    print(f"upgrade fixtures: {release}")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name in sys.argv[1:] or RELEASES:
        make(name, os.environ["DATABASE_URL"])
