"""Shared by the benchmarks: a throwaway PostgreSQL schema, a registered store, a running bridge."""

from __future__ import annotations

import os
import secrets
import threading
import time
from contextlib import contextmanager

import psycopg


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
    from mqtt_bridge.store import open_store

    store = open_store(url)
    store.migrate()
    store.add_checkpoint(checkpoint, checkpoint)
    for d in devices:
        store.add_device(d, checkpoint)
    return store


def start_bridge(broker_url: str, store, **kw):
    """A bridge ingesting on a thread, connected and subscribed; returns (bridge, stop, thread)."""
    from drivers.mqtt import BrokerUrl
    from mqtt_bridge.bridge import Bridge

    bridge = Bridge(BrokerUrl.parse(broker_url), store, **kw)
    stop = threading.Event()
    thread = threading.Thread(target=bridge.run, args=(stop,), daemon=True)
    thread.start()
    while not bridge.link.connected:
        time.sleep(0.05)
    time.sleep(0.3)  # subscriptions are made in on_connect
    return bridge, stop, thread
