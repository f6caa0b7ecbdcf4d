"""Retention: check-ins are kept for a limited time (21 days by default), declarations by their own rule."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from mqtt_bridge.centre_api import ROLLUP_TZ, Store, StoreError
from protocol.event import MAX_AHEAD_S, RETENTION_DAYS

logger = logging.getLogger(__name__)

CHECKIN_DAYS = RETENTION_DAYS
MIN_CHECKIN_DAYS = 14  # tracing needs two weeks of stays: a shorter window needs --force
DECLARATION_DAYS_AFTER_EXPIRY = 30


@dataclass(frozen=True)
class Purged:
    checkins: int
    partitions_dropped: int
    declarations: int
    future: int = 0  # rows dated ahead of the clock, stored before the bridge checked times
    dry_run: bool = False


def check_window(days: int, force: bool) -> None:
    """Refuse a window that would delete what tracing still needs, unless forced."""
    if days < 0:
        raise StoreError("--days cannot be negative")
    if days < MIN_CHECKIN_DAYS and not force:
        raise StoreError(f"--days {days} would delete check-ins younger than {MIN_CHECKIN_DAYS} days, "
                         "which contact tracing needs; add --force if that is really meant")


def purge(store: Store, checkin_days: int = CHECKIN_DAYS,
          declaration_days: int = DECLARATION_DAYS_AFTER_EXPIRY, now: datetime | None = None,
          dry_run: bool = False) -> Purged:
    """Delete check-ins older than `checkin_days` (and any dated impossibly far ahead) and
    declarations expired more than `declaration_days` ago. On PostgreSQL whole monthly partitions
    past the cutoff are dropped. With `dry_run` nothing is deleted: the counts say what would be."""
    now = now or datetime.now(UTC)
    cutoff = store.time_param(now - timedelta(days=checkin_days))
    ahead = store.time_param(now + timedelta(days=1, seconds=MAX_AHEAD_S))
    expired = store.time_param(now - timedelta(days=declaration_days))
    old_sql, future_sql = "FROM checkins WHERE scanned_at < ?", "FROM checkins WHERE scanned_at > ?"
    decl_sql = "FROM declarations WHERE expires_at IS NOT NULL AND expires_at < ?"
    if dry_run:
        count = lambda sql, arg: store.query(f"SELECT count(*) AS n {sql}", (arg,))[0]["n"]  # noqa: E731
        return Purged(count(old_sql, cutoff), 0, count(decl_sql, expired), count(future_sql, ahead), True)
    dropped = 0
    dropped = store.drop_partitions_before(now - timedelta(days=checkin_days))
    n = store.execute(f"DELETE {old_sql}", (cutoff,))
    f = store.execute(f"DELETE {future_sql}", (ahead,))
    if store.dialect == "postgresql":
        store.execute("DELETE FROM checkin_ids WHERE scanned_at < ? OR scanned_at > ?", (cutoff, ahead))
    first_day = (now - timedelta(days=checkin_days)).astimezone(ZoneInfo(ROLLUP_TZ)).date()
    last_day = (now + timedelta(days=2)).astimezone(ZoneInfo(ROLLUP_TZ)).date()
    for table in ("checkin_hourly", "checkin_people", "checkin_daily"):  # the rollups go with their check-ins
        store.execute(f"DELETE FROM {table} WHERE day < ? OR day > ?",
                      (store.day_param(first_day), store.day_param(last_day)))
    store.execute("DELETE FROM checkins_unplaced WHERE received_at < ?", (cutoff,))
    store.execute("DELETE FROM boot_clocks WHERE updated_at < ?", (cutoff,))
    d = store.execute(f"DELETE {decl_sql}", (expired,))
    store.execute("DELETE FROM deleted_declarations WHERE until < ?", (store.time_param(now),))  # refused as expired
    logger.info("retention: %d check-ins deleted (%d dated ahead), %d partitions dropped, "
                "%d declarations deleted", n + f, f, dropped, d)
    return Purged(n, dropped, d, f)
