"""Reports and tracing from a PostgreSQL streaming replica, when one is configured
(`VHD_CENTRE_REPLICA_DB`): they are reads that tolerate a few seconds' delay, so they can leave
the primary to the gates' and phones' writes.

The replica is read only while it is reachable and at most `VHD_CENTRE_REPLICA_MAX_LAG` seconds
(30 by default) behind; otherwise the primary. The choice is made at most every few seconds per
process, and each page that reads it says which copy it read and how far behind it was."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connections

REPLICA = "replica"
CHECK_EVERY_S = 5.0


@dataclass(frozen=True)
class Source:
    alias: str  # "default" (the primary) or "replica"
    lag_s: float | None = None  # the replica's delay when it is read
    fallback: bool = False  # a replica is configured but too far behind or unreachable
    max_lag_s: int = 0  # the most delay accepted (VHD_CENTRE_REPLICA_MAX_LAG)


_chosen: tuple[float, Source] | None = None
_lock = threading.Lock()


def reading() -> Source:
    """Where reports and tracing read now."""
    global _chosen
    if REPLICA not in settings.DATABASES:
        return Source("default")
    with _lock:
        if _chosen is not None and time.monotonic() - _chosen[0] < CHECK_EVERY_S:
            return _chosen[1]
    source = _check()
    with _lock:
        _chosen = (time.monotonic(), source)
    return source


def _check() -> Source:
    """The replica's delay: none when it has replayed all it has received, else the time since the
    last transaction it replayed was committed on the primary."""
    try:
        with connections[REPLICA].cursor() as cur:
            cur.execute("SELECT pg_is_in_recovery(), pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn(), "
                        "COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)")
            recovering, caught_up, behind = cur.fetchone()
    except DatabaseError:
        connections[REPLICA].close()
        return Source("default", fallback=True, max_lag_s=settings.REPLICA_MAX_LAG_S)
    lag = 0.0 if caught_up or not recovering else max(0.0, float(behind))
    if lag > settings.REPLICA_MAX_LAG_S:
        return Source("default", fallback=True, max_lag_s=settings.REPLICA_MAX_LAG_S)
    return Source(REPLICA, lag, max_lag_s=settings.REPLICA_MAX_LAG_S)


class ReportsRouter:
    """The rollups (per hour; per person and day; per checkpoint and day) are read where
    `reading()` says; everything else, and every write and migration, goes to the primary."""

    ROLLUPS = frozenset({"checkinhour", "checkinperson", "checkinday"})

    def db_for_read(self, model, **hints):
        if model._meta.app_label == "ledger" and model._meta.model_name in self.ROLLUPS:
            return reading().alias
        return "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
