"""The declaration database's schema, as numbered migrations for PostgreSQL and SQLite."""

from __future__ import annotations

# Each migration: (version, PostgreSQL statements, SQLite statements). Applied in order, once.
# check-ins are partitioned by month on PostgreSQL (partitions are made as months appear); the
# primary key includes the partition column, and a retry of an event always carries the same
# scanned_at, so (event_id, scanned_at) still makes every retry harmless.
MIGRATIONS: list[tuple[int, list[str], list[str]]] = [
    (1, [
        """CREATE TABLE checkpoints (
            checkpoint_id text PRIMARY KEY,
            name text NOT NULL,
            address text NOT NULL DEFAULT '',
            contact_phone text NOT NULL DEFAULT '',
            unit text NOT NULL DEFAULT '',
            created_at timestamptz NOT NULL DEFAULT now())""",
        """CREATE TABLE devices (
            device_id text PRIMARY KEY,
            checkpoint_id text NOT NULL REFERENCES checkpoints,
            online boolean NOT NULL DEFAULT false,
            last_seen timestamptz,
            queue_depth integer,
            oldest_unsent_s double precision,
            time_synced boolean,
            firmware text,
            telemetry jsonb,
            created_at timestamptz NOT NULL DEFAULT now())""",
        """CREATE TABLE declarations (
            declaration_id text PRIMARY KEY,
            full_name text NOT NULL,
            citizen_id text,
            birth_year integer,
            sex text CHECK (sex IN ('M', 'F')),
            phone text,
            insurance_no text,
            on_behalf_of text,
            declared_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz)""",
        "CREATE INDEX declarations_citizen ON declarations (citizen_id)",
        """CREATE TABLE checkins (
            event_id uuid NOT NULL,
            scanned_at timestamptz NOT NULL,
            device_id text NOT NULL,
            checkpoint_id text NOT NULL,
            direction text NOT NULL CHECK (direction IN ('in', 'out')),
            kind text NOT NULL CHECK (kind IN ('vhd', 'cccd')),
            subject text NOT NULL,
            display_name text NOT NULL DEFAULT '',
            mono_ns bigint NOT NULL,
            boot_id text NOT NULL,
            time_synced boolean NOT NULL,
            firmware text NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (event_id, scanned_at)) PARTITION BY RANGE (scanned_at)""",
        "CREATE TABLE checkins_default PARTITION OF checkins DEFAULT",
        "CREATE INDEX checkins_checkpoint_time ON checkins (checkpoint_id, scanned_at)",
        "CREATE INDEX checkins_subject_time ON checkins (subject, scanned_at)",
    ], [
        """CREATE TABLE checkpoints (
            checkpoint_id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            address TEXT NOT NULL DEFAULT '',
            contact_phone TEXT NOT NULL DEFAULT '',
            unit TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))""",
        """CREATE TABLE devices (
            device_id TEXT PRIMARY KEY,
            checkpoint_id TEXT NOT NULL REFERENCES checkpoints,
            online INTEGER NOT NULL DEFAULT 0,
            last_seen TEXT,
            queue_depth INTEGER,
            oldest_unsent_s REAL,
            time_synced INTEGER,
            firmware TEXT,
            telemetry TEXT,
            created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))""",
        """CREATE TABLE declarations (
            declaration_id TEXT PRIMARY KEY,
            full_name TEXT NOT NULL,
            citizen_id TEXT,
            birth_year INTEGER,
            sex TEXT CHECK (sex IN ('M', 'F')),
            phone TEXT,
            insurance_no TEXT,
            on_behalf_of TEXT,
            declared_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            expires_at TEXT)""",
        "CREATE INDEX declarations_citizen ON declarations (citizen_id)",
        """CREATE TABLE checkins (
            event_id TEXT NOT NULL,
            scanned_at TEXT NOT NULL,
            device_id TEXT NOT NULL,
            checkpoint_id TEXT NOT NULL,
            direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
            kind TEXT NOT NULL CHECK (kind IN ('vhd', 'cccd')),
            subject TEXT NOT NULL,
            display_name TEXT NOT NULL DEFAULT '',
            mono_ns INTEGER NOT NULL,
            boot_id TEXT NOT NULL,
            time_synced INTEGER NOT NULL,
            firmware TEXT NOT NULL,
            received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            PRIMARY KEY (event_id, scanned_at))""",
        "CREATE INDEX checkins_checkpoint_time ON checkins (checkpoint_id, scanned_at)",
        "CREATE INDEX checkins_subject_time ON checkins (subject, scanned_at)",
    ]),
    # An event id is stored once whatever else a resend changes. A partitioned table's keys must
    # include the partition column, so PostgreSQL keeps the ids in a table of their own, which
    # every insert goes through; SQLite has no partitions and takes a unique index. Events whose
    # gate clock was not set wait in checkins_unplaced until that boot's clock is known.
    (2, [
        """CREATE TABLE checkin_ids (
            event_id uuid PRIMARY KEY,
            scanned_at timestamptz NOT NULL)""",
        """INSERT INTO checkin_ids SELECT DISTINCT ON (event_id) event_id, scanned_at FROM checkins
            ORDER BY event_id, received_at""",
        """DELETE FROM checkins c WHERE NOT EXISTS (SELECT 1 FROM checkin_ids i
            WHERE i.event_id = c.event_id AND i.scanned_at = c.scanned_at)""",
        "CREATE INDEX checkin_ids_time ON checkin_ids (scanned_at)",
        """CREATE TABLE boot_clocks (
            device_id text NOT NULL,
            boot_id text NOT NULL,
            offset_ms bigint NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (device_id, boot_id))""",
        """CREATE TABLE checkins_unplaced (
            event_id uuid PRIMARY KEY,
            device_id text NOT NULL,
            boot_id text NOT NULL,
            body text NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now())""",
        "CREATE INDEX checkins_unplaced_boot ON checkins_unplaced (device_id, boot_id)",
    ], [
        "DELETE FROM checkins WHERE rowid NOT IN (SELECT min(rowid) FROM checkins GROUP BY event_id)",
        "CREATE UNIQUE INDEX checkins_event ON checkins (event_id)",
        """CREATE TABLE boot_clocks (
            device_id TEXT NOT NULL,
            boot_id TEXT NOT NULL,
            offset_ms INTEGER NOT NULL,
            updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            PRIMARY KEY (device_id, boot_id))""",
        """CREATE TABLE checkins_unplaced (
            event_id TEXT PRIMARY KEY,
            device_id TEXT NOT NULL,
            boot_id TEXT NOT NULL,
            body TEXT NOT NULL,
            received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))""",
        "CREATE INDEX checkins_unplaced_boot ON checkins_unplaced (device_id, boot_id)",
    ]),
]

CHECKIN_COLUMNS = ("event_id", "scanned_at", "device_id", "checkpoint_id", "direction", "kind",
                   "subject", "display_name", "mono_ns", "boot_id", "time_synced", "firmware")
