"""The reports' and tracing's store interface over the site's own database connection."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from django.db import connections

from centre.reports.replica import Source, reading
from protocol.event import format_time


class SiteStore:
    """What mqtt_bridge's report and trace functions read, through Django's connection (no second
    connection per request; `?` placeholders as the bridge's store takes them): the replica's when
    reports read one (`source`), else the primary's."""

    def __init__(self, source: Source | None = None):
        self.source = source or reading()

    @property
    def connection(self):
        return connections[self.source.alias]

    @property
    def dialect(self) -> str:
        return "postgresql" if self.connection.vendor == "postgresql" else "sqlite"

    def query(self, sql: str, args: tuple = ()) -> list[dict]:
        return self.query_named(sql.replace("?", "%s"), list(args))

    def query_named(self, sql: str, params: dict | list) -> list[dict]:
        if self.dialect == "postgresql":
            cursor = _server_side(self.connection)
        else:
            cursor = self.connection.cursor()
        with cursor as cur:
            cur.execute(sql, params)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def time_param(self, t: datetime):
        return t if self.dialect == "postgresql" else format_time(t)

    def day_param(self, d: date):
        return d if self.dialect == "postgresql" else d.isoformat()

    def checkpoint_rows(self) -> list[dict]:
        return self.query("SELECT * FROM checkpoints ORDER BY checkpoint_id")

    def device_rows(self) -> list[dict]:
        return self.query("SELECT device_id, checkpoint_id, online, last_seen FROM devices ORDER BY device_id")


def _server_side(connection):
    """A cursor on the site's own PostgreSQL connection that binds its parameters on the server,
    as the bridge's store does: a statement run again on the connection (kept CONN_MAX_AGE) is
    prepared once, not parsed and planned over the partitions per call, which a trace's dozen
    look-ups each paid. Django's own cursors bind on the client. Times are loaded by psycopg's own
    loader, not the one Django registers (a Python subclass that sets each value's zone again): the
    same aware times, in the UTC Django's session is set to."""
    import psycopg

    connection.ensure_connection()
    cursor = psycopg.Cursor(connection.connection)
    for oid, loader in _time_loaders():
        cursor.adapters.register_loader(oid, loader)
    return cursor


@cache
def _time_loaders() -> list:
    """psycopg's own timestamptz loaders (text and binary), looked up once."""
    import psycopg
    from psycopg.pq import Format

    oid = psycopg.adapters.types["timestamptz"].oid
    return [(oid, loader) for fmt in (Format.TEXT, Format.BINARY)
            if (loader := psycopg.adapters.get_loader(oid, fmt)) is not None]
