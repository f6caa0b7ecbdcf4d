"""What the bridge's hot path knows of the declaration database: the schema it was built for, the
check-in columns it writes and the rollups it keeps. The tables themselves are made and upgraded by
the centre's Django migrations (`vhd-centre migrate`); the bridge never migrates, and refuses a
database whose schema is not the one below."""

from __future__ import annotations

from protocol.event import LOCAL_TIME_ZONE

# The newest migration of the ledger app (centre/ledger/migrations) this bridge's SQL was written
# against; a test keeps it equal to that app's newest migration.
SCHEMA = ("ledger", "0006_deleted_declarations")

CHECKIN_COLUMNS = ("event_id", "scanned_at", "device_id", "checkpoint_id", "direction", "kind", "subject",
                   "display_name", "mono_ns", "boot_id", "time_synced", "firmware")

# What the district reads most (today's live counts, a day's report over hundreds of thousands of
# scans) kept up to date by every insert, on both databases: per checkpoint, local day and hour the
# check-ins and check-outs; per checkpoint, day and person their last scan. On PostgreSQL
# `rollup_sql` adds a batch of check-ins to them in the insert's own statement; SQLite's store
# does the same in the insert's transaction. Per checkpoint and day, the people and those still
# inside (checkin_daily) follow from checkin_people by the database's own triggers (ledger 0005).
ROLLUP_TZ = LOCAL_TIME_ZONE
ROLLUP_PERSON = "coalesce(d.citizen_id, c.subject)"


def rollup_sql(source: str) -> tuple[str, str]:
    """The two upserts that add the check-ins of `source` (a table or CTE with the check-in
    columns) to the rollups; a later scan's direction wins, however late it arrives."""
    local = f"(c.scanned_at AT TIME ZONE '{ROLLUP_TZ}')"
    hourly = (f"INSERT INTO checkin_hourly SELECT {local}::date, c.checkpoint_id, extract(hour FROM {local})::int, "
              "count(*) FILTER (WHERE c.direction = 'in'), count(*) FILTER (WHERE c.direction = 'out'), "
              f"max(c.scanned_at) FROM {source} c GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 "  # rows locked in one order
              "ON CONFLICT (day, checkpoint_id, hour) DO UPDATE "
              "SET ins = checkin_hourly.ins + excluded.ins, outs = checkin_hourly.outs + excluded.outs, "
              "last_at = greatest(checkin_hourly.last_at, excluded.last_at)")
    people = (f"INSERT INTO checkin_people SELECT DISTINCT ON (1, 2, 3) {local}::date, c.checkpoint_id, "
              f"{ROLLUP_PERSON}, c.scanned_at, c.direction FROM {source} c LEFT JOIN declarations d "
              "ON c.kind = 'vhd' AND d.declaration_id = c.subject ORDER BY 1, 2, 3, c.scanned_at DESC "
              "ON CONFLICT (day, checkpoint_id, person) DO UPDATE SET last_at = excluded.last_at, "
              "last_direction = excluded.last_direction WHERE excluded.last_at >= checkin_people.last_at")
    return hourly, people
