"""Times on SQLite in one form, the bridge's (2021-09-15T01:30:00.000Z), whoever wrote them: rows
the site wrote through Django ("2021-09-15 01:30:00") are rewritten, and from here on the ORM writes
and compares the bridge's form (centre.ledger.fields.StoredTime). PostgreSQL keeps timestamptz."""

import django.db.models.functions.datetime
from django.db import migrations

import centre.ledger.fields

COLUMNS = {"checkins": ("scanned_at", "received_at"), "boot_clocks": ("updated_at",),
           "checkins_unplaced": ("received_at",), "checkin_hourly": ("last_at",), "checkin_people": ("last_at",),
           "checkpoints": ("created_at",), "devices": ("last_seen", "revoked_at", "created_at"),
           "declarations": ("declared_at", "expires_at")}


def times_as_the_bridge_writes_them(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        for table, columns in COLUMNS.items():
            for column in columns:
                cursor.execute(f"UPDATE {table} SET {column} = strftime('%Y-%m-%dT%H:%M:%fZ', {column}) "
                               f"WHERE {column} IS NOT NULL AND {column} NOT GLOB "
                               "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z'")


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0002_rollups_on_sqlite'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[  # the columns are as they were
            migrations.AlterField(
                model_name='bootclock',
                name='updated_at',
                field=centre.ledger.fields.StoredTime(db_default=django.db.models.functions.datetime.Now()),
            ),
            migrations.AlterField(
                model_name='checkin',
                name='received_at',
                field=centre.ledger.fields.StoredTime(db_default=django.db.models.functions.datetime.Now()),
            ),
            migrations.AlterField(
                model_name='checkin',
                name='scanned_at',
                field=centre.ledger.fields.StoredTime(verbose_name='time'),
            ),
            migrations.AlterField(
                model_name='checkinhour',
                name='last_at',
                field=centre.ledger.fields.StoredTime(),
            ),
            migrations.AlterField(
                model_name='checkinperson',
                name='last_at',
                field=centre.ledger.fields.StoredTime(),
            ),
            migrations.AlterField(
                model_name='unplacedcheckin',
                name='received_at',
                field=centre.ledger.fields.StoredTime(db_default=django.db.models.functions.datetime.Now()),
            ),
        ]),
        migrations.RunPython(times_as_the_bridge_writes_them, elidable=False),
    ]
