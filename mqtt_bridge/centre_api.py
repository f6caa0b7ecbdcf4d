"""What the centre's web site may use of the bridge's side: the database URL rules, the store
(which a web check-in goes through, as a gate's does) and what reading it takes. The site imports
this module only, never the rest of the package."""

from __future__ import annotations

from mqtt_bridge.locate import find_database_url, secret_path
from mqtt_bridge.schema import ROLLUP_TZ
from mqtt_bridge.store import (
    PERSON_CHECKINS,
    ReadStore,
    Store,
    StoreError,
    as_time,
    database_url_parts,
    open_store,
    row_refused,
)


def store_on(vendor: str, raw):
    """The bridge's store over the site's own open database connection (Django's `connection.vendor`
    and `connection.connection`): a web or staff check-in is stored exactly as a gate's is."""
    if vendor == "postgresql":
        from mqtt_bridge.store_pg import PgStore

        return PgStore.borrowing(raw)
    from mqtt_bridge.store import SqliteStore

    return SqliteStore.borrowing(raw)

__all__ = ["PERSON_CHECKINS", "ROLLUP_TZ", "ReadStore", "Store", "StoreError", "as_time", "database_url_parts",
           "find_database_url", "open_store", "row_refused", "secret_path", "store_on"]
