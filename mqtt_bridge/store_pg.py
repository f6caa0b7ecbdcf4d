"""PostgreSQL behind the Store interface: COPY into a staging table, then one INSERT ... ON CONFLICT."""

from __future__ import annotations

import logging
import weakref
from datetime import UTC, datetime

import msgspec
import psycopg
from psycopg.types.json import Jsonb

from mqtt_bridge.schema import CHECKIN_COLUMNS, rollup_sql
from mqtt_bridge.store import (
    APPROVED_BY_TECHNICIAN,
    DECLARATION_FIELDS,
    Checkin,
    Store,
    StoreError,
    check_checkpoint,
    checkin_row,
    row_refused,
)
from protocol.event import Event, format_time

logger = logging.getLogger(__name__)

FIRST_PARTITION_YEAR = 2020
LAST_PARTITION_YEAR = 2100


def month_bounds(t: datetime) -> tuple[datetime, datetime]:
    start = datetime(t.year, t.month, 1, tzinfo=UTC)
    end = datetime(t.year + (t.month == 12), t.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


# A batch of check-ins goes in by these three statements, in one transaction: the staging table
# (once a session), COPY into it, and one statement that stores each event id once (the id goes
# into the guard first: an id already stored, at whatever time, is not stored again), the row into
# the partitioned table, and what is stored into the rollups. bench/bridge.py times them bare.
STAGE_TABLE = ("CREATE TEMP TABLE IF NOT EXISTS checkins_stage (LIKE checkins INCLUDING DEFAULTS) "
               "ON COMMIT DELETE ROWS")
_COLS = ", ".join(CHECKIN_COLUMNS)
_HOURLY, _PEOPLE = rollup_sql("ins")
COPY_TO_STAGE = f"COPY checkins_stage ({_COLS}) FROM STDIN"
STORE_FROM_STAGE = (f"WITH fresh AS (INSERT INTO checkin_ids (event_id, scanned_at) "
                    f"SELECT event_id, scanned_at FROM checkins_stage ON CONFLICT DO NOTHING "
                    f"RETURNING event_id), ins AS (INSERT INTO checkins ({_COLS}) SELECT {_COLS} "
                    f"FROM checkins_stage JOIN fresh USING (event_id) ON CONFLICT DO NOTHING "
                    f"RETURNING *), h AS ({_HOURLY}), p AS ({_PEOPLE}) "
                    f"SELECT count(*) FROM ins")
# One event (a phone's or a staff member's check-in, a gate's scan stored on its own): the same
# statement over a one-row CTE that takes the staging table's name, so there is no COPY and no
# staging table to empty at commit. The row is typed by `checkins` itself.
STORE_ONE = ("WITH checkins_stage AS (SELECT * FROM jsonb_populate_record(NULL::checkins, %s)), "
             + STORE_FROM_STAGE.removeprefix("WITH "))

# The store over each borrowed connection (PgStore.borrowing), for as long as the connection lives.
_BORROWED: weakref.WeakKeyDictionary[psycopg.Connection, PgStore] = weakref.WeakKeyDictionary()


class PgStore(Store):
    dialect = "postgresql"
    _borrowed = False  # True: the connection is someone else's to close

    def __init__(self, url: str, connect_timeout: int = 5):
        self.url = url
        self.connect_timeout = connect_timeout
        self._partitions: set[str] = set()
        self._staging = False  # the session's temporary staging table exists
        self.conn: psycopg.Connection | None = None
        self._connect()

    @classmethod
    def borrowing(cls, conn: psycopg.Connection) -> PgStore:
        """The store over a connection someone else opened and will close (the web site's):
        no second connection per request, the same partitions, guard and rollups as the bridge's.
        While the connection lives (Django keeps it for CONN_MAX_AGE), the same store serves each
        request on it, so the partitions it has seen and its staging table are not looked up again
        per check-in. Inside the owner's own transaction, which may yet roll back what the store
        makes, a store of its own that remembers nothing."""
        idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        store = _BORROWED.get(conn) if idle else None
        if store is None:
            store = cls.__new__(cls)
            store.url, store.connect_timeout, store._partitions, store._staging = "", 5, set(), False
            store.conn, store._borrowed = conn, True
            if idle:
                _BORROWED[conn] = store
        return store

    def _connect(self) -> None:
        if self._borrowed:
            raise StoreError("the borrowed PostgreSQL connection is closed")
        try:
            self.conn = psycopg.connect(self.url, connect_timeout=self.connect_timeout,
                                        application_name="vhd-bridge")
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {str(exc).strip()}") from exc

    def _ensure(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed or self.conn.broken:
            self._partitions.clear()
            self._staging = False
            self._connect()
        if self.conn is None:  # _connect raised instead
            raise StoreError("no PostgreSQL connection")
        return self.conn

    def _run(self, fn):
        """Run fn(conn) in one transaction; a lost connection is reopened on the next call."""
        conn = self._ensure()
        try:
            with conn.transaction():
                return fn(conn)
        except psycopg.OperationalError as exc:
            self._staging = False
            try:
                conn.close()
            except psycopg.Error:
                pass
            raise StoreError(f"PostgreSQL unavailable: {str(exc).strip()}") from exc
        except psycopg.Error as exc:
            self._staging = False  # created in the transaction that was just rolled back
            # The primary message only: the detail can quote the row, which holds personal data.
            primary = exc.diag.message_primary if exc.diag and exc.diag.message_primary else type(exc).__name__
            if row_refused(exc.sqlstate):
                raise StoreError(f"PostgreSQL refused the write ({exc.sqlstate}): {primary}", transient=False,
                                 sqlstate=exc.sqlstate) from exc
            # Not the row's fault (a database made read-only, a standby after a failover, a table or
            # a grant missing): the same write will pass once the database is put right, so it is
            # held and tried again, never refused to the gate, which would stop sending it.
            raise StoreError(f"PostgreSQL cannot take the write now ({exc.sqlstate}): {primary}",
                             sqlstate=exc.sqlstate) from exc

    def _partition_for(self, conn, t: datetime) -> None:
        if not FIRST_PARTITION_YEAR <= t.year <= LAST_PARTITION_YEAR:
            return  # a gate with a wild clock: the default partition takes it
        name = f"checkins_y{t.year}m{t.month:02d}"
        if name in self._partitions:
            return
        start, end = month_bounds(t)
        conn.execute("SELECT pg_advisory_xact_lock(727002)")
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()[0]
        if not exists:
            # Rows of this month already in the default partition must move into the new one.
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS _moving (LIKE checkins) ON COMMIT DROP")
            conn.execute("WITH moved AS (DELETE FROM checkins_default WHERE scanned_at >= %s AND "
                         "scanned_at < %s RETURNING *) INSERT INTO _moving SELECT * FROM moved",
                         (start, end))
            conn.execute(f"CREATE TABLE {name} PARTITION OF checkins FOR VALUES FROM ('{start.isoformat()}') "
                         f"TO ('{end.isoformat()}')")
            conn.execute("INSERT INTO checkins SELECT * FROM _moving")
        self._partitions.add(name)

    def insert_checkins(self, events: list[Event]) -> int:
        # One row per event id (a resent event may sit twice in one batch), then COPY into a
        # staging table and a single INSERT ... ON CONFLICT DO NOTHING: retries cost nothing. A
        # single event goes by the same statement over a one-row CTE (STORE_ONE).
        rows = list({r[0]: r for r in (checkin_row(e) for e in events)}.values())
        months = {(e.time.year, e.time.month): e.time for e in events}

        def work(conn):
            for t in months.values():
                self._partition_for(conn, t)
            if len(rows) == 1:
                return conn.execute(STORE_ONE, (Jsonb(dict(zip(CHECKIN_COLUMNS, rows[0], strict=True))),)).fetchone()[0]
            if not self._staging:
                conn.execute(STAGE_TABLE)
                self._staging = True
            with conn.cursor() as cur:
                with cur.copy(COPY_TO_STAGE) as copy:
                    for r in rows:
                        copy.write_row(r)
                cur.execute(STORE_FROM_STAGE)
                return cur.fetchone()[0]

        return self._run(work)

    def rebuild_rollups(self) -> None:
        """The rollups counted again from the check-ins (after rows were loaded around the bridge)."""
        def work(conn):
            conn.execute("TRUNCATE checkin_hourly, checkin_people, checkin_daily")
            for sql in rollup_sql("checkins"):
                conn.execute(sql)

        self._run(work)

    def drop_partitions_before(self, cutoff: datetime) -> int:
        """Drop monthly partitions that end on or before `cutoff`: instant, no dead rows."""
        def work(conn):
            rows = conn.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'checkins' "
                "AND p.relnamespace = current_schema()::regnamespace").fetchall()
            dropped = 0
            for (name,) in rows:
                if not name.startswith("checkins_y"):
                    continue
                year, month = int(name[10:14]), int(name[15:17])
                _, end = month_bounds(datetime(year, month, 1, tzinfo=UTC))
                if end <= cutoff:
                    conn.execute(f"DROP TABLE {name}")
                    self._partitions.discard(name)
                    dropped += 1
            return dropped

        return self._run(work)

    def devices(self) -> dict[str, str]:
        return self._run(lambda c: dict(c.execute("SELECT device_id, checkpoint_id FROM devices "
                                                  "WHERE revoked_at IS NULL")))

    def revoke_device(self, device_id: str, at: datetime) -> bool:
        return self._run(lambda c: c.execute(
            "UPDATE devices SET revoked_at = coalesce(revoked_at, %s), online = false WHERE device_id = %s",
            (at, device_id)).rowcount == 1)

    def set_status(self, device_id, online, at, firmware):
        self._run(lambda c: c.execute(
            "UPDATE devices SET online = %s, last_seen = %s, firmware = coalesce(%s, firmware) "
            "WHERE device_id = %s", (online, at, firmware, device_id)))

    def set_telemetry(self, device_id, t, at):
        self._run(lambda c: c.execute(
            "UPDATE devices SET last_seen = %s, queue_depth = %s, oldest_unsent_s = %s, time_synced = %s, "
            "firmware = coalesce(%s, firmware), telemetry = %s WHERE device_id = %s",
            (at, t.queue_depth, t.oldest_unsent_s, t.time_synced, t.firmware, Jsonb(msgspec.to_builtins(t)),
             device_id)))

    def add_checkpoint(self, checkpoint_id, name, address="", contact_phone="", unit=""):
        check_checkpoint(checkpoint_id, name=name, address=address, contact_phone=contact_phone, unit=unit)
        self._run(lambda c: c.execute(
            "INSERT INTO checkpoints (checkpoint_id, name, address, contact_phone, unit, approved_at, approved_by) "
            "VALUES (%s, %s, %s, %s, %s, now(), %s) ON CONFLICT (checkpoint_id) DO UPDATE SET name = excluded.name, "
            "address = excluded.address, contact_phone = excluded.contact_phone, unit = excluded.unit",
            (checkpoint_id, name, address, contact_phone, unit, APPROVED_BY_TECHNICIAN)))

    def add_device(self, device_id, checkpoint_id):
        self._run(lambda c: c.execute(
            "INSERT INTO devices (device_id, checkpoint_id) VALUES (%s, %s) ON CONFLICT (device_id) "
            "DO UPDATE SET checkpoint_id = excluded.checkpoint_id", (device_id, checkpoint_id)))

    def query(self, sql, args=()):
        def work(conn):
            cur = conn.execute(sql.replace("?", "%s"), args)
            names = [d.name for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur]

        return self._run(work)

    def query_named(self, sql: str, params: dict) -> list[dict]:
        """Rows as dicts for SQL with %(name)s parameters (PostgreSQL-only queries)."""
        def work(conn):
            cur = conn.execute(sql, params)
            names = [d.name for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur]

        return self._run(work)

    def time_param(self, t):
        return t

    def day_param(self, d):
        return d

    def execute(self, sql, args=()):
        return self._run(lambda c: c.execute(sql.replace("?", "%s"), args).rowcount)

    def add_declaration(self, d):
        cols = list(DECLARATION_FIELDS)
        self._run(lambda c: c.execute(
            f"INSERT INTO declarations ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})",
            tuple(d.get(k) for k in cols)))

    def checkins(self, limit=None):
        sql = ("SELECT event_id::text, device_id, checkpoint_id, subject, direction, scanned_at, kind, "
               "display_name FROM checkins ORDER BY scanned_at, event_id")
        if limit:
            sql += f" LIMIT {int(limit)}"
        rows = self._run(lambda c: c.execute(sql).fetchall())
        for r in rows:
            yield Checkin(r[0], r[1], r[2], r[3], r[4], format_time(r[5]), r[6], r[7])

    def count_checkins(self) -> int:
        return self._run(lambda c: c.execute("SELECT count(*) FROM checkins").fetchone()[0])

    def close(self) -> None:
        if self.conn is not None and not self._borrowed:
            self.conn.close()

