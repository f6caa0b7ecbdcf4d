"""What the centre's web site may use of the bridge's side: the database URL rules, reports,
tracing and their time zone. The site imports this module only, never the rest of the package."""

from __future__ import annotations

from mqtt_bridge.locate import find_database_url, secret_path
from mqtt_bridge.reports import TZ, ReportError, checkpoint_days, day_bounds, render, unit_days
from mqtt_bridge.retention import CHECKIN_DAYS, check_window, purge
from mqtt_bridge.store import PERSON_CHECKINS, StoreError, as_time, open_store
from mqtt_bridge.trace import trace


def store_on(vendor: str, raw):
    """The bridge's store over the site's own open database connection (Django's `connection.vendor`
    and `connection.connection`): a web or staff check-in is stored exactly as a gate's is."""
    if vendor == "postgresql":
        from mqtt_bridge.store_pg import PgStore

        return PgStore.borrowing(raw)
    from mqtt_bridge.store import SqliteStore

    return SqliteStore.borrowing(raw)

__all__ = ["TZ", "CHECKIN_DAYS", "PERSON_CHECKINS", "ReportError", "StoreError", "as_time", "check_window",
           "checkpoint_days", "day_bounds", "find_database_url", "open_store", "purge", "render", "secret_path",
           "store_on", "trace", "unit_days"]
