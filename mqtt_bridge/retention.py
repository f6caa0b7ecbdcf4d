"""Retention: check-ins are kept for a limited time (21 days by default), declarations by their own rule."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mqtt_bridge.store import Store

logger = logging.getLogger(__name__)

CHECKIN_DAYS = 21
DECLARATION_DAYS_AFTER_EXPIRY = 30


@dataclass(frozen=True)
class Purged:
    checkins: int
    partitions_dropped: int
    declarations: int


def purge(store: Store, checkin_days: int = CHECKIN_DAYS,
          declaration_days: int = DECLARATION_DAYS_AFTER_EXPIRY, now: datetime | None = None) -> Purged:
    """Delete check-ins older than `checkin_days` and declarations expired more than
    `declaration_days` ago. On PostgreSQL whole monthly partitions past the cutoff are dropped."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=checkin_days)
    dropped = 0
    if store.dialect == "postgresql":
        dropped = store.drop_partitions_before(cutoff)
    n = store.execute("DELETE FROM checkins WHERE scanned_at < ?", (store.time_param(cutoff),))
    d = store.execute("DELETE FROM declarations WHERE expires_at IS NOT NULL AND expires_at < ?",
                      (store.time_param(now - timedelta(days=declaration_days)),))
    logger.info("retention: %d check-ins deleted, %d partitions dropped, %d declarations deleted",
                n, dropped, d)
    return Purged(n, dropped, d)
