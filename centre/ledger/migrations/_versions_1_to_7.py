"""The declaration database's tables as releases before Django owned them made them: versions 1 to
7 of the bridge's own migrator, frozen here word for word. Migration 0001 applies the versions a
database lacks (all of them to an empty one), so every database made by an earlier release, SQLite
or PostgreSQL, arrives at the same tables. Nothing here may change: later schema changes are
ordinary Django migrations after 0001."""

from __future__ import annotations

from dataclasses import dataclass

# Column types, and what each is on each database.
TEXT, TIME, BOOL, INT, BIGINT, FLOAT, JSON, UUID = "text", "time", "bool", "int", "bigint", "float", "json", "uuid"
TYPES = {
    "postgresql": {TEXT: "text", TIME: "timestamptz", BOOL: "boolean", INT: "integer", BIGINT: "bigint",
                   FLOAT: "double precision", JSON: "jsonb", UUID: "uuid"},
    "sqlite": {TEXT: "TEXT", TIME: "TEXT", BOOL: "INTEGER", INT: "INTEGER", BIGINT: "INTEGER", FLOAT: "REAL",
               JSON: "TEXT", UUID: "TEXT"},
}
NOW = {"postgresql": "now()", "sqlite": "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"}  # SQLite keeps ISO text


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[tuple[str, str, str], ...]  # (name, type, constraints; "DEFAULT NOW" is rendered)
    primary_key: tuple[str, ...] = ()
    partition_by: str | None = None  # PostgreSQL only: RANGE on this column, by month

    def create(self, dialect: str) -> str:
        cols = [f"{name} {TYPES[dialect][kind]}{' ' + extra if extra else ''}".replace("DEFAULT NOW",
                                                                                      f"DEFAULT {NOW[dialect]}")
                for name, kind, extra in self.columns]
        if self.primary_key:
            cols.append(f"PRIMARY KEY ({', '.join(self.primary_key)})")
        sql = f"CREATE TABLE {self.name} ({', '.join(cols)})"
        if self.partition_by and dialect == "postgresql":
            sql += f" PARTITION BY RANGE ({self.partition_by})"
        return sql


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool = False

    def create(self, dialect: str) -> str:
        return f"CREATE {'UNIQUE ' if self.unique else ''}INDEX {self.name} ON {self.table} ({', '.join(self.columns)})"


@dataclass(frozen=True)
class Only:
    """Statements for one database alone (partitions, a backfill, a constraint the other lacks)."""

    dialect: str
    statements: tuple[str, ...]


CHECKINS = Table("checkins", (
    ("event_id", UUID, "NOT NULL"),
    ("scanned_at", TIME, "NOT NULL"),
    ("device_id", TEXT, "NOT NULL"),
    ("checkpoint_id", TEXT, "NOT NULL"),
    ("direction", TEXT, "NOT NULL CHECK (direction IN ('in', 'out'))"),
    ("kind", TEXT, "NOT NULL CHECK (kind IN ('vhd', 'cccd'))"),
    ("subject", TEXT, "NOT NULL"),
    ("display_name", TEXT, "NOT NULL DEFAULT ''"),
    ("mono_ns", BIGINT, "NOT NULL"),
    ("boot_id", TEXT, "NOT NULL"),
    ("time_synced", BOOL, "NOT NULL"),
    ("firmware", TEXT, "NOT NULL"),
    ("received_at", TIME, "NOT NULL DEFAULT NOW"),
), primary_key=("event_id", "scanned_at"), partition_by="scanned_at")

# Each migration: (version, steps). Applied in order, once. Check-ins are partitioned by month on
# PostgreSQL (partitions are made as months appear), so their key includes the partition column;
# an event id is kept unique by checkin_ids there and by a unique index on SQLite.
_MIGRATIONS_1_2: list[tuple[int, list]] = [
    (1, [
        Table("checkpoints", (
            ("checkpoint_id", TEXT, "PRIMARY KEY"),
            ("name", TEXT, "NOT NULL"),
            ("address", TEXT, "NOT NULL DEFAULT ''"),
            ("contact_phone", TEXT, "NOT NULL DEFAULT ''"),
            ("unit", TEXT, "NOT NULL DEFAULT ''"),
            ("created_at", TIME, "NOT NULL DEFAULT NOW"))),
        Table("devices", (
            ("device_id", TEXT, "PRIMARY KEY"),
            ("checkpoint_id", TEXT, "NOT NULL REFERENCES checkpoints"),
            ("online", BOOL, "NOT NULL DEFAULT false"),
            ("last_seen", TIME, ""),
            ("queue_depth", INT, ""),
            ("oldest_unsent_s", FLOAT, ""),
            ("time_synced", BOOL, ""),
            ("firmware", TEXT, ""),
            ("telemetry", JSON, ""),
            ("created_at", TIME, "NOT NULL DEFAULT NOW"))),
        Table("declarations", (
            ("declaration_id", TEXT, "PRIMARY KEY"),
            ("full_name", TEXT, "NOT NULL"),
            ("citizen_id", TEXT, ""),
            ("birth_year", INT, ""),
            ("sex", TEXT, "CHECK (sex IN ('M', 'F'))"),
            ("phone", TEXT, ""),
            ("insurance_no", TEXT, ""),
            ("on_behalf_of", TEXT, ""),
            ("declared_at", TIME, "NOT NULL DEFAULT NOW"),
            ("expires_at", TIME, ""))),
        Index("declarations_citizen", "declarations", ("citizen_id",)),
        CHECKINS,
        Only("postgresql", ("CREATE TABLE checkins_default PARTITION OF checkins DEFAULT",)),
        Index("checkins_checkpoint_time", "checkins", ("checkpoint_id", "scanned_at")),
        Index("checkins_subject_time", "checkins", ("subject", "scanned_at")),
    ]),
    (2, [
        Only("postgresql", (
            "CREATE TABLE checkin_ids (event_id uuid PRIMARY KEY, scanned_at timestamptz NOT NULL)",
            "INSERT INTO checkin_ids SELECT DISTINCT ON (event_id) event_id, scanned_at FROM checkins "
            "ORDER BY event_id, received_at",
            "DELETE FROM checkins c WHERE NOT EXISTS (SELECT 1 FROM checkin_ids i "
            "WHERE i.event_id = c.event_id AND i.scanned_at = c.scanned_at)",
            "CREATE INDEX checkin_ids_time ON checkin_ids (scanned_at)")),
        Only("sqlite", (
            "DELETE FROM checkins WHERE rowid NOT IN (SELECT min(rowid) FROM checkins GROUP BY event_id)",
            "CREATE UNIQUE INDEX checkins_event ON checkins (event_id)")),
        Table("boot_clocks", (
            ("device_id", TEXT, "NOT NULL"),
            ("boot_id", TEXT, "NOT NULL"),
            ("offset_ms", BIGINT, "NOT NULL"),
            ("updated_at", TIME, "NOT NULL DEFAULT NOW")), primary_key=("device_id", "boot_id")),
        Table("checkins_unplaced", (
            ("event_id", UUID, "PRIMARY KEY"),
            ("device_id", TEXT, "NOT NULL"),
            ("boot_id", TEXT, "NOT NULL"),
            ("body", TEXT, "NOT NULL"),
            ("received_at", TIME, "NOT NULL DEFAULT NOW"))),
        Index("checkins_unplaced_boot", "checkins_unplaced", ("device_id", "boot_id")),
    ]),
]

# What the district reads most (today's live counts, a day's report over hundreds of thousands of
# scans) kept up to date by every insert on PostgreSQL: per checkpoint, local day and hour the
# check-ins and check-outs; per checkpoint, day and person their last scan. SQLite (one site)
# counts from check-ins directly. `rollup_sql` fills them from the check-ins.
ROLLUP_TZ = "Asia/Ho_Chi_Minh"
ROLLUP_PERSON = "coalesce(d.citizen_id, c.subject)"
_ROLLUP_TABLES = Only("postgresql", (
    """CREATE TABLE checkin_hourly (day date NOT NULL, checkpoint_id text NOT NULL, hour smallint NOT NULL,
        ins integer NOT NULL, outs integer NOT NULL, last_at timestamptz NOT NULL,
        PRIMARY KEY (day, checkpoint_id, hour))""",
    """CREATE TABLE checkin_people (day date NOT NULL, checkpoint_id text NOT NULL, person text NOT NULL,
        last_at timestamptz NOT NULL, last_direction text NOT NULL, PRIMARY KEY (day, checkpoint_id, person))""",
))


def rollup_sql(source: str) -> tuple[str, str]:
    """The two upserts that add the check-ins of `source` (a table or CTE with the check-in
    columns) to the rollups; a later scan's direction wins, however late it arrives."""
    local = f"(c.scanned_at AT TIME ZONE '{ROLLUP_TZ}')"
    hourly = (f"INSERT INTO checkin_hourly SELECT {local}::date, c.checkpoint_id, extract(hour FROM {local})::int, "
              "count(*) FILTER (WHERE c.direction = 'in'), count(*) FILTER (WHERE c.direction = 'out'), "
              f"max(c.scanned_at) FROM {source} c GROUP BY 1, 2, 3 ON CONFLICT (day, checkpoint_id, hour) DO UPDATE "
              "SET ins = checkin_hourly.ins + excluded.ins, outs = checkin_hourly.outs + excluded.outs, "
              "last_at = greatest(checkin_hourly.last_at, excluded.last_at)")
    people = (f"INSERT INTO checkin_people SELECT DISTINCT ON (1, 2, 3) {local}::date, c.checkpoint_id, "
              f"{ROLLUP_PERSON}, c.scanned_at, c.direction FROM {source} c LEFT JOIN declarations d "
              "ON c.kind = 'vhd' AND d.declaration_id = c.subject ORDER BY 1, 2, 3, c.scanned_at DESC "
              "ON CONFLICT (day, checkpoint_id, person) DO UPDATE SET last_at = excluded.last_at, "
              "last_direction = excluded.last_direction WHERE excluded.last_at >= checkin_people.last_at")
    return hourly, people


# People declare on the portal: who declared (the signed-in phone), the Ministry's domestic form.
_DECLARATION_MORE = (("owner_phone", TEXT, ""), ("passport", TEXT, ""), ("nationality", TEXT, ""),
                     ("province", TEXT, ""), ("district", TEXT, ""), ("commune", TEXT, ""),
                     ("address_line", TEXT, ""), ("symptoms", BOOL, " NOT NULL DEFAULT false"),
                     ("exposure", BOOL, " NOT NULL DEFAULT false"), ("travel", BOOL, " NOT NULL DEFAULT false"))
_DECLARATION_COLUMNS = [
    *[Only(dialect, tuple(f"ALTER TABLE declarations ADD COLUMN {name} {TYPES[dialect][kind]}{extra}"
                          for name, kind, extra in _DECLARATION_MORE)) for dialect in ("postgresql", "sqlite")],
    Index("declarations_owner", "declarations", ("owner_phone",)),
]
# Units register their checkpoints on the portal, with the kind of place.
_CHECKPOINT_KIND = [Only(dialect, (f"ALTER TABLE checkpoints ADD COLUMN kind {TYPES[dialect][TEXT]} NOT NULL "
                                   "DEFAULT ''",)) for dialect in ("postgresql", "sqlite")]
_ROLLUP_BACKFILL = Only("postgresql", rollup_sql("checkins"))
# The rollups made again from the check-ins: right whatever came before (idempotent).
_ROLLUP_REBUILD = Only("postgresql", ("TRUNCATE checkin_hourly, checkin_people", *rollup_sql("checkins")))

# Released migrations never change: a database records the versions it has applied, so a step
# added to a released version is never run where that version already was, and runs twice where
# it was not. Versions 3, 4 and 5 were each released with the rollup backfill (an earlier release
# appended it to whichever version was last), so a database made by one release and upgraded by a
# later one counted its check-ins twice; version 6 rebuilds the rollups from the check-ins.
MIGRATIONS: tuple[tuple[int, tuple], ...] = (
    *((version, tuple(steps)) for version, steps in _MIGRATIONS_1_2),
    (3, (_ROLLUP_TABLES,)),  # as released with 8de6088 this also held the backfill, harmless on upgrades
    (4, tuple(_DECLARATION_COLUMNS)),
    (5, (*_CHECKPOINT_KIND, _ROLLUP_BACKFILL)),
    (6, (_ROLLUP_REBUILD,)),
    # A retired or stolen gate: revoked, kept on the fleet page, its later events refused.
    (7, tuple(Only(dialect, (f"ALTER TABLE devices ADD COLUMN revoked_at {TYPES[dialect][TIME]}",))
              for dialect in ("postgresql", "sqlite"))),
)


def statements(steps, dialect: str) -> list[str]:
    """One version's SQL for one database."""
    out = []
    for step in steps:
        if isinstance(step, Only):
            out += list(step.statements) if step.dialect == dialect else []
        else:
            out.append(step.create(dialect))
    return out
