"""Shared by the benchmarks: a throwaway PostgreSQL schema, a registered store, a running bridge."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def temp_schema(prefix: str, keep: bool = False):
    """A URL whose search_path is a fresh schema in $DATABASE_URL's database; dropped afterwards."""
    base = os.environ.get("DATABASE_URL", "postgresql://127.0.0.1:5432/test")
    schema = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        if not keep:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


def registered_store(url: str, checkpoint: str, devices: list[str]):
    """The store at `url`, migrated, with one checkpoint and its gates registered."""
    from mqtt_bridge.locate import migrate_database
    from mqtt_bridge.store import open_store

    migrate_database(url)
    store = open_store(url)
    store.add_checkpoint(checkpoint, checkpoint)
    for d in devices:
        store.add_device(d, checkpoint)
    return store


def start_bridge(broker_url: str, store, **kw):
    """A bridge ingesting on a thread, connected and subscribed; returns (bridge, stop, thread)."""
    from drivers.mqtt import BrokerUrl
    from mqtt_bridge.bridge import Bridge

    bridge = Bridge(store, Bridge.link_for(BrokerUrl.parse(broker_url)), **kw)
    stop = threading.Event()
    thread = threading.Thread(target=bridge.run, args=(stop,), daemon=True)
    thread.start()
    while not (bridge.link.connected and bridge.link.subscribed):  # subscribed in on_connect
        time.sleep(0.02)
    return bridge, stop, thread


def fill_checkins(store, start, rows: int, days: int, people: int, checkpoints: int) -> None:
    """`rows` check-ins spread evenly over `days` from `start` (generate_series, indexes built
    after), people and checkpoints drawn by multiplicative hashing: minutes for ten million."""
    from datetime import timedelta

    end = start + timedelta(days=days)
    with store.conn.transaction():
        month = start.replace(day=1)
        while month < end + timedelta(days=31):
            store._partition_for(store.conn, month)
            month = (month + timedelta(days=32)).replace(day=1)
        store.conn.execute("DROP INDEX checkins_checkpoint_time")
        store.conn.execute("DROP INDEX checkins_subject_time")
    step = days * 86400 / rows
    store.conn.execute(
        "INSERT INTO checkins (event_id, scanned_at, device_id, checkpoint_id, direction, kind, subject, "
        "display_name, mono_ns, boot_id, time_synced, firmware) "
        "SELECT md5(i::text)::uuid, %s::timestamptz + make_interval(secs => i * %s), "
        "'gate-' || (i * 7919 %% %s), 'CP-' || (i * 7919 %% %s), "
        "CASE WHEN (i / %s) %% 2 = 0 THEN 'in' ELSE 'out' END, 'vhd', "
        "'VHD-' || ((i * 104729 + i / %s) %% %s), 'Người thử', i, 'boot', true, '0.1.0' "
        "FROM generate_series(1::bigint, %s) AS i",
        (start, step, checkpoints, checkpoints, people, people, people, rows))
    store.conn.execute("CREATE INDEX checkins_checkpoint_time ON checkins (checkpoint_id, scanned_at)")
    store.conn.execute("CREATE INDEX checkins_subject_time ON checkins (subject, scanned_at)")
    store.conn.commit()
    store.conn.execute("ANALYZE")
    store.conn.commit()


def serve_site(db_url: str, env: dict, workers: int) -> tuple[subprocess.Popen, int]:
    """`vhd-centre serve` (gunicorn) on a free loopback port, answering; the process and its port."""
    from provisioning.mosquitto import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "centre.cli", "--db", db_url, "serve", "--listen",
                               f"127.0.0.1:{port}", "--workers", str(workers)], env=env, cwd=ROOT,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2).close()
            return server, port
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit("the centre's site did not start") from None
            time.sleep(0.2)
