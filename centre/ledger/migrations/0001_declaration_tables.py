"""The declaration database's tables (check-ins, checkpoints, gates, declarations), made or brought
up to date from whatever an earlier release left, then handed to Django's migration state: from here
on every schema change is an ordinary Django migration."""

import django.db.models.functions.datetime
from django.db import migrations, models

from centre.ledger.migrations._versions_1_to_7 import MIGRATIONS, statements


def make_or_upgrade(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor not in ("postgresql", "sqlite"):
        raise RuntimeError(f"the declaration database runs on PostgreSQL or SQLite, not {connection.vendor}")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(727001)")  # one migrator at a time
        tables = set(connection.introspection.table_names(cursor))
        done: set[int] = set()
        if "schema_migrations" in tables:  # the version table of releases before this one
            cursor.execute("SELECT version FROM schema_migrations")
            done = {row[0] for row in cursor.fetchall()}
        elif "checkins" in tables:
            raise RuntimeError("this database has check-ins but no schema version: not one VHD Gate made")
        for version, steps in MIGRATIONS:
            if version not in done:
                for sql in statements(steps, connection.vendor):
                    cursor.execute(sql)
        if "schema_migrations" in tables:
            cursor.execute("DROP TABLE schema_migrations")  # django_migrations records it from now on


class Migration(migrations.Migration):

    initial = True

    dependencies = []

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(make_or_upgrade, elidable=False)],
            state_operations=[
                migrations.CreateModel(
                    name='BootClock',
                    fields=[
                        ('pk', models.CompositePrimaryKey('device_id', 'boot_id', blank=True, editable=False, primary_key=True, serialize=False)),
                        ('device_id', models.TextField()),
                        ('boot_id', models.TextField()),
                        ('offset_ms', models.BigIntegerField()),
                        ('updated_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                    ],
                    options={
                        'db_table': 'boot_clocks',
                    },
                ),
                migrations.CreateModel(
                    name='Checkin',
                    fields=[
                        ('pk', models.CompositePrimaryKey('event_id', 'scanned_at', blank=True, editable=False, primary_key=True, serialize=False)),
                        ('event_id', models.CharField(max_length=36)),
                        ('scanned_at', models.DateTimeField(verbose_name='time')),
                        ('device_id', models.TextField(verbose_name='gate')),
                        ('checkpoint_id', models.TextField(verbose_name='checkpoint')),
                        ('direction', models.TextField(choices=[('in', 'in'), ('out', 'out')], verbose_name='direction')),
                        ('kind', models.TextField(choices=[('vhd', 'declaration QR'), ('cccd', 'citizen id card')], verbose_name='kind')),
                        ('subject', models.TextField(verbose_name='person')),
                        ('display_name', models.TextField(db_default='', verbose_name='name')),
                        ('mono_ns', models.BigIntegerField()),
                        ('boot_id', models.TextField()),
                        ('time_synced', models.BooleanField()),
                        ('firmware', models.TextField()),
                        ('received_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                    ],
                    options={
                        'verbose_name': 'check-in',
                        'verbose_name_plural': 'check-ins',
                        'db_table': 'checkins',
                        'indexes': [models.Index(fields=['checkpoint_id', 'scanned_at'], name='checkins_checkpoint_time'), models.Index(fields=['subject', 'scanned_at'], name='checkins_subject_time')],
                    },
                ),
                migrations.CreateModel(
                    name='UnplacedCheckin',
                    fields=[
                        ('event_id', models.CharField(max_length=36, primary_key=True, serialize=False)),
                        ('device_id', models.TextField()),
                        ('boot_id', models.TextField()),
                        ('body', models.TextField()),
                        ('received_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now())),
                    ],
                    options={
                        'db_table': 'checkins_unplaced',
                        'indexes': [models.Index(fields=['device_id', 'boot_id'], name='checkins_unplaced_boot')],
                    },
                ),
            ],
        ),
    ]
