"""The reports' and tracing's store interface over the site's own database connection."""

from __future__ import annotations

from datetime import date, datetime

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
        with self.connection.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), list(args))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def query_named(self, sql: str, params: dict) -> list[dict]:
        with self.connection.cursor() as cur:
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
