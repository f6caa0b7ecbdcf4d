"""Declarations deleted while their QR was valid are recorded in deleted_declarations by a trigger
on declarations, whoever deletes them (the portal, an operator in SQL): the bridges publish the list
to the gates. The trigger is made by ledger 0006 and, on SQLite, made again after every migrate:
SQLite rebuilds a table to alter it (a later migration of declarations, or one taken back), and
the rebuilt table has none of the old one's triggers."""

from __future__ import annotations

POSTGRESQL = [
    "CREATE OR REPLACE FUNCTION declaration_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO deleted_declarations (declaration_id, until, deleted_at) VALUES (OLD.declaration_id, "
    "OLD.expires_at, now()) ON CONFLICT (declaration_id) DO UPDATE SET until = "
    "greatest(deleted_declarations.until, excluded.until); RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS declaration_deleted ON declarations",  # CREATE OR REPLACE TRIGGER: PostgreSQL 14 on
    "CREATE TRIGGER declaration_deleted AFTER DELETE ON declarations FOR EACH ROW "
    "WHEN (OLD.expires_at > now()) EXECUTE FUNCTION declaration_deleted()",
]
# Times on SQLite are the bridge's UTC text (ledger 0003), which sorts as the times do.
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
SQLITE = [
    f"""CREATE TRIGGER IF NOT EXISTS declaration_deleted AFTER DELETE ON declarations
WHEN OLD.expires_at > {_NOW} BEGIN
  INSERT INTO deleted_declarations (declaration_id, until, deleted_at)
  VALUES (OLD.declaration_id, OLD.expires_at, {_NOW})
  ON CONFLICT (declaration_id) DO UPDATE SET until = max(until, excluded.until);
END""",
]


def record_deletions(connection) -> None:
    """The trigger, where both tables are there (not before ledger 0006, nor after it is undone)."""
    tables = set(connection.introspection.table_names())
    if not {"declarations", "deleted_declarations"} <= tables:
        return
    with connection.cursor() as cursor:
        for sql in POSTGRESQL if connection.vendor == "postgresql" else SQLITE:
            cursor.execute(sql)


def after_migrate(using: str = "default", **_kwargs) -> None:
    from django.db import connections

    connection = connections[using]
    if connection.vendor == "sqlite":  # PostgreSQL alters a table in place: its triggers stay
        record_deletions(connection)
