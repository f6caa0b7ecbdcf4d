"""The declaration database: one interface, PostgreSQL (psycopg 3) or SQLite behind it."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import msgspec

from common.errors import UserError
from common.files import private_file
from mqtt_bridge.schema import CHECKIN_COLUMNS, ROLLUP_TZ, SCHEMA
from protocol import messages
from protocol.event import Event, format_time, parse_time
from protocol.messages import Telemetry


class StoreError(UserError):
    """The database cannot be reached or take the write now (transient: retry), or refused the data
    (not transient); `sqlstate` is PostgreSQL's code for what it said, where it said one."""

    def __init__(self, message: str, transient: bool = True, sqlstate: str | None = None):
        super().__init__(message)
        self.transient, self.sqlstate = transient, sqlstate


# SQLSTATE classes about the data itself, which the same row meets again: data exceptions,
# integrity constraints, a program limit (a value too large for an index).
ROW_REFUSED = ("22", "23", "54")


def row_refused(sqlstate: str | None) -> bool:
    """Whether PostgreSQL's `sqlstate` is about the row itself (sending it again would not help),
    rather than the database not taking writes now."""
    return (sqlstate or "")[:2] in ROW_REFUSED


@dataclass(frozen=True)
class Checkin:
    event_id: str
    device_id: str
    checkpoint_id: str
    subject: str
    direction: str
    scanned_at: str
    kind: str = ""
    display_name: str = ""


# Check-ins with the person behind each: a declaration that names a citizen id is that citizen,
# so a stay opened with the card and closed with the phone's QR is one person's one stay.
PERSON_CHECKINS = ("SELECT coalesce(d.citizen_id, c.subject) AS subject, c.display_name, c.checkpoint_id, "
                   "c.direction, c.scanned_at FROM checkins c LEFT JOIN declarations d "
                   "ON c.kind = 'vhd' AND d.declaration_id = c.subject")

LOCAL = ZoneInfo(ROLLUP_TZ)
APPROVED_BY_TECHNICIAN = "technician (vhd-provision)"  # a checkpoint a technician registers is trusted

DECLARATION_FIELDS = ("declaration_id", "full_name", "citizen_id", "birth_year", "sex", "phone",
                      "insurance_no", "on_behalf_of", "expires_at")


def as_time(value) -> datetime:
    """A stored time (datetime from PostgreSQL, ISO text from SQLite) as an aware datetime."""
    return value if isinstance(value, datetime) else parse_time(value)


_CANONICAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def checkin_row(ev: Event) -> tuple:
    # Normalise the time text so that one instant is always stored the same way (a gate's
    # text is already in that form: 2021-09-15T01:30:00.000Z).
    at = ev.scanned_at
    if not _CANONICAL_TIME.fullmatch(at):
        at = format_time(ev.time)
    return (ev.event_id, at, ev.device_id, ev.checkpoint_id,
            ev.direction, ev.kind, ev.subject, ev.display_name, ev.mono_ns, ev.boot_id,
            ev.time_synced, ev.firmware)


class Store:
    """What the bridge, the reports and the provisioning tools need from the database."""

    dialect = ""

    def insert_checkins(self, events: list[Event]) -> int:
        raise NotImplementedError

    def devices(self) -> dict[str, str]:
        """Gates allowed to send: device id -> checkpoint id (revoked gates are not)."""
        raise NotImplementedError

    def revoke_device(self, device_id: str, at: datetime) -> bool:
        """Mark a gate revoked (its later events are refused); False if there is no such gate."""
        raise NotImplementedError

    def set_status(self, device_id: str, online: bool, at: datetime, firmware: str | None) -> None: ...

    def set_telemetry(self, device_id: str, t: Telemetry, at: datetime) -> None: ...

    def add_checkpoint(self, checkpoint_id: str, name: str, address: str = "", contact_phone: str = "",
                       unit: str = "") -> None: ...

    def add_device(self, device_id: str, checkpoint_id: str) -> None: ...

    def add_declaration(self, d: dict) -> None: ...

    def query(self, sql: str, args: tuple = ()) -> list[dict]:
        """Rows as dicts; `sql` uses ? placeholders on every backend."""
        raise NotImplementedError

    def schema_migrations(self) -> list[str]:
        """The names of the schema's migrations this database has applied, oldest first (none
        where it has no schema, or a schema older releases made and `vhd-centre migrate` has not
        yet taken over)."""
        try:
            rows = self.query("SELECT name FROM django_migrations WHERE app = ? ORDER BY name", (SCHEMA[0],))
        except StoreError as exc:
            if exc.transient and exc.sqlstate != "42P01":  # 42P01: no such table, so no schema
                raise
            return []
        return [r["name"] for r in rows]

    def deleted_declarations(self, now: datetime, limit: int) -> list[str]:
        """Declarations deleted while their QR was valid and whose QR would still be valid at
        `now` (ledger 0006): what the gates refuse. The `limit` most recently deleted, sorted."""
        rows = self.query("SELECT declaration_id FROM deleted_declarations WHERE until > ? "
                          "ORDER BY deleted_at DESC LIMIT ?", (self.time_param(now), limit))
        return sorted(r["declaration_id"] for r in rows)

    def query_named(self, sql: str, params: dict) -> list[dict]:
        """Rows for SQL with %(name)s parameters (PostgreSQL-only queries)."""
        raise NotImplementedError

    def drop_partitions_before(self, cutoff: datetime) -> int:
        """Drop whole monthly partitions (PostgreSQL); 0 where there are none."""
        return 0

    def time_param(self, t: datetime):
        """A time as this backend compares it: text on SQLite, timestamptz on PostgreSQL."""
        return format_time(t)

    def day_param(self, d: date):
        """A local day as this backend compares it: text on SQLite, date on PostgreSQL."""
        return d.isoformat()

    def execute(self, sql: str, args: tuple = ()) -> int:
        """One write statement in its own transaction; returns the rows it touched."""
        raise NotImplementedError

    # Events whose gate clock was not set, kept until that boot's clock is known --------------
    def boot_clock(self, device_id: str, boot_id: str) -> int | None:
        rows = self.query("SELECT offset_ms FROM boot_clocks WHERE device_id = ? AND boot_id = ?",
                          (device_id, boot_id))
        return int(rows[0]["offset_ms"]) if rows else None

    def set_boot_clock(self, device_id: str, boot_id: str, offset_ms: int) -> None:
        self.execute("INSERT INTO boot_clocks (device_id, boot_id, offset_ms) VALUES (?, ?, ?) "
                     "ON CONFLICT (device_id, boot_id) DO UPDATE SET offset_ms = excluded.offset_ms",
                     (device_id, boot_id, offset_ms))

    def hold_unplaced(self, events: list[Event]) -> None:
        for ev in events:
            self.execute("INSERT INTO checkins_unplaced (event_id, device_id, boot_id, body) "
                         "VALUES (?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                         (ev.event_id, ev.device_id, ev.boot_id, ev.encode().decode()))

    def unplaced(self, device_id: str | None = None, boot_id: str | None = None) -> list[Event]:
        sql, args = "SELECT body FROM checkins_unplaced", tuple[str | None, ...]()
        if device_id is not None:
            sql, args = sql + " WHERE device_id = ? AND boot_id = ?", (device_id, boot_id)
        return [messages.decode(r["body"].encode(), Event) for r in self.query(sql + " ORDER BY event_id", args)]

    def drop_unplaced(self, event_ids: list[str]) -> None:
        for event_id in event_ids:
            self.execute("DELETE FROM checkins_unplaced WHERE event_id = ?", (event_id,))

    def checkpoint_rows(self) -> list[dict]:
        return self.query("SELECT * FROM checkpoints ORDER BY checkpoint_id")

    def device_rows(self) -> list[dict]:
        return self.query("SELECT * FROM devices ORDER BY device_id")

    def checkins(self, limit: int | None = None) -> Iterator[Checkin]:
        raise NotImplementedError

    def count_checkins(self) -> int:
        raise NotImplementedError

    def close(self) -> None: ...


class ReadStore(Protocol):
    """What reports and tracing read: the bridge's Store, or the web site's own connection."""

    @property
    def dialect(self) -> str: ...

    def query(self, sql: str, args: tuple = ()) -> list[dict]: ...

    def query_named(self, sql: str, params: dict) -> list[dict]: ...

    def time_param(self, t: datetime) -> object: ...

    def day_param(self, d: date) -> object: ...

    def checkpoint_rows(self) -> list[dict]: ...

    def device_rows(self) -> list[dict]: ...


def check_checkpoint(checkpoint_id: str, **text: str) -> None:
    """The id, and the name, address, contact_phone and unit given, as every part can carry them."""
    from protocol.checkpoint import CHECKPOINT_ID_RULE, checkpoint_text_problem, valid_checkpoint_id

    if not valid_checkpoint_id(checkpoint_id):
        raise StoreError(f"checkpoint id {checkpoint_id!r}: {CHECKPOINT_ID_RULE}", transient=False)
    problem = checkpoint_text_problem(text)
    if problem is not None:
        raise StoreError(problem, transient=False)


def database_url_parts(url: str):
    """The database URL's parts (urlparse's), its port read: one that cannot be read (a bracket
    left open, a port out of range) is said so, and never printed, since it holds the password."""
    try:
        parts = urlparse(url)
        _ = parts.port  # read here, where its error is caught
    except ValueError as exc:
        raise StoreError(f"the database URL cannot be read: {exc} "
                         "(it looks like postgresql://USER:PASSWORD@HOST:PORT/NAME)", transient=False) from None
    return parts


def open_store(url: str, create: bool = True) -> Store:
    """`postgresql://...`, or SQLite as `sqlite:///relative.db`, `sqlite:////abs/path.db` or a path.
    With create=False a SQLite file must exist already (a command that only reads must not leave
    an empty database where a path was mistyped)."""
    scheme = database_url_parts(url).scheme
    if scheme in ("postgresql", "postgres"):
        from mqtt_bridge.store_pg import PgStore

        return PgStore(url)
    if scheme not in ("sqlite", ""):
        raise StoreError(f"unsupported database URL scheme {scheme!r}: use postgresql:// or sqlite:///",
                         transient=False)
    if scheme == "sqlite" and not url.startswith("sqlite:///"):
        raise StoreError("SQLite URLs look like sqlite:///file.db or sqlite:////abs/file.db", transient=False)
    path = url[len("sqlite:///"):] if scheme else url
    if not create and not Path(path).is_file():
        raise StoreError(f"no database at {path}: check the path (vhd-centre migrate makes a new one)",
                         transient=False)
    return SqliteStore(path)


def _roll_up(conn: sqlite3.Connection, scans: list[tuple]) -> None:
    """Add newly stored scans (scanned_at, checkpoint_id, direction, kind, subject) to the rollups,
    as PostgreSQL's rollup_sql does: per local day and hour the check-ins and check-outs, per local
    day and person their last scan, a later scan winning however late it arrives."""
    if not scans:
        return
    declared = {s for _, _, _, kind, s in scans if kind == "vhd"}
    citizen: dict[str, str] = {}
    names = sorted(declared)
    for i in range(0, len(names), 500):
        chunk = names[i:i + 500]
        citizen.update(conn.execute("SELECT declaration_id, citizen_id FROM declarations WHERE citizen_id IS NOT "
                                    f"NULL AND declaration_id IN ({', '.join('?' * len(chunk))})", chunk))
    hours: dict[tuple, list] = {}
    people: dict[tuple, tuple[str, str]] = {}
    for at, checkpoint_id, direction, kind, subject in sorted(scans):
        local = parse_time(at).astimezone(LOCAL)
        day = local.date().isoformat()
        h = hours.setdefault((day, checkpoint_id, local.hour), [0, 0, at])
        h[0 if direction == "in" else 1] += 1
        h[2] = max(h[2], at)
        people[(day, checkpoint_id, citizen.get(subject, subject) if kind == "vhd" else subject)] = (at, direction)
    conn.executemany("INSERT INTO checkin_hourly (day, checkpoint_id, hour, ins, outs, last_at) "
                     "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (day, checkpoint_id, hour) DO UPDATE SET "
                     "ins = ins + excluded.ins, outs = outs + excluded.outs, last_at = max(last_at, excluded.last_at)",
                     [(*k, *v) for k, v in hours.items()])
    conn.executemany("INSERT INTO checkin_people (day, checkpoint_id, person, last_at, last_direction) "
                     "VALUES (?, ?, ?, ?, ?) ON CONFLICT (day, checkpoint_id, person) DO UPDATE SET "
                     "last_at = excluded.last_at, last_direction = excluded.last_direction "
                     "WHERE excluded.last_at >= checkin_people.last_at", [(*k, *v) for k, v in people.items()])


class SqliteStore(Store):
    """The embedded database for one site and the demo."""

    dialect = "sqlite"
    _borrowed = False  # True: the connection is someone else's to close

    def __init__(self, path: str):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            private_file(self.path)  # names, id numbers and phones: private whatever the umask
            self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.execute("PRAGMA busy_timeout=10000")
            self.conn.execute("PRAGMA foreign_keys=ON")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open database {self.path}: {exc}") from exc

    @classmethod
    def borrowing(cls, conn: sqlite3.Connection) -> SqliteStore:
        """The store over a connection someone else opened and will close (the web site's, in
        autocommit mode): no second connection per request."""
        store = cls.__new__(cls)
        store.path, store.conn, store._borrowed = Path(""), conn, True
        return store

    @contextmanager
    def _transaction(self):
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error; SQLite errors become StoreError."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
        except (sqlite3.IntegrityError, sqlite3.DataError) as exc:  # the row's fault: it fails again
            raise StoreError(str(exc), transient=False) from exc
        except sqlite3.Error as exc:  # locked, disk I/O, a damaged file: passes once put right
            raise StoreError(str(exc)) from exc

    def _tx(self, statements: list[tuple[str, tuple]]) -> None:
        with self._transaction() as conn:
            for sql, args in statements:
                conn.execute(sql, args)

    def insert_checkins(self, events: list[Event]) -> int:
        cols = ", ".join(CHECKIN_COLUMNS)
        marks = ", ".join("?" * len(CHECKIN_COLUMNS))
        with self._transaction() as conn:
            rows = [checkin_row(e) for e in events]
            stored = [row for row in rows
                      if conn.execute(f"INSERT OR IGNORE INTO checkins ({cols}) VALUES ({marks})", row).rowcount]
            _roll_up(conn, [(r[1], r[3], r[4], r[5], r[6]) for r in stored])  # in the same transaction
            return len(stored)

    def rebuild_rollups(self) -> None:
        """The rollups counted again from the check-ins (after rows were loaded around the bridge)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM checkin_hourly")
            conn.execute("DELETE FROM checkin_people")
            conn.execute("DELETE FROM checkin_daily")  # its triggers count it again from checkin_people
            _roll_up(conn, conn.execute("SELECT scanned_at, checkpoint_id, direction, kind, subject FROM checkins "
                                        "ORDER BY scanned_at").fetchall())

    def devices(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT device_id, checkpoint_id FROM devices WHERE revoked_at IS NULL"))

    def revoke_device(self, device_id: str, at: datetime) -> bool:
        with self._transaction() as conn:
            return conn.execute("UPDATE devices SET revoked_at = coalesce(revoked_at, ?), online = 0 "
                                "WHERE device_id = ?", (format_time(at), device_id)).rowcount == 1

    def set_status(self, device_id, online, at, firmware):
        self._tx([("UPDATE devices SET online = ?, last_seen = ?, firmware = coalesce(?, firmware) "
                   "WHERE device_id = ?", (online, format_time(at), firmware, device_id))])

    def set_telemetry(self, device_id, t, at):
        self._tx([("UPDATE devices SET last_seen = ?, queue_depth = ?, oldest_unsent_s = ?, "
                   "time_synced = ?, firmware = coalesce(?, firmware), telemetry = ? WHERE device_id = ?",
                   (format_time(at), t.queue_depth, t.oldest_unsent_s, t.time_synced, t.firmware,
                    msgspec.json.encode(t).decode(), device_id))])

    def add_checkpoint(self, checkpoint_id, name, address="", contact_phone="", unit=""):
        check_checkpoint(checkpoint_id, name=name, address=address, contact_phone=contact_phone, unit=unit)
        self._tx([("INSERT INTO checkpoints (checkpoint_id, name, address, contact_phone, unit, approved_at, "
                   "approved_by) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (checkpoint_id) DO UPDATE SET "
                   "name = excluded.name, address = excluded.address, contact_phone = excluded.contact_phone, "
                   "unit = excluded.unit", (checkpoint_id, name, address, contact_phone, unit,
                                            format_time(datetime.now(UTC)), APPROVED_BY_TECHNICIAN))])

    def add_device(self, device_id, checkpoint_id):
        self._tx([("INSERT INTO devices (device_id, checkpoint_id) VALUES (?, ?) ON CONFLICT (device_id) "
                   "DO UPDATE SET checkpoint_id = excluded.checkpoint_id", (device_id, checkpoint_id))])

    def query(self, sql, args=()):
        try:
            cur = self.conn.execute(sql, args)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur]
        except sqlite3.Error as exc:
            raise StoreError(str(exc)) from exc

    def execute(self, sql, args=()):
        with self._transaction() as conn:
            return conn.execute(sql, args).rowcount

    def add_declaration(self, d):
        cols = list(DECLARATION_FIELDS)
        self._tx([(f"INSERT INTO declarations ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                   tuple(d.get(c) for c in cols))])

    def checkins(self, limit=None):
        sql = ("SELECT event_id, device_id, checkpoint_id, subject, direction, scanned_at, kind, "
               "display_name FROM checkins ORDER BY scanned_at, event_id")
        if limit:
            sql += f" LIMIT {int(limit)}"
        for row in self.conn.execute(sql):
            yield Checkin(*row)

    def count_checkins(self) -> int:
        return self.conn.execute("SELECT count(*) FROM checkins").fetchone()[0]

    def close(self) -> None:
        if not self._borrowed:
            self.conn.close()
