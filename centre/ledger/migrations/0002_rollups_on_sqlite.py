"""The rollups PostgreSQL has kept since release version 3 (ledger 0001), on SQLite too: every
figure (the live page, the reports) then has one implementation, read from them on both databases.
On SQLite the tables are made and filled from the check-ins already stored; PostgreSQL has them."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.db import migrations, models

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")  # frozen: what "a day" meant when this was written


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def make_and_fill(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    for name in ("CheckinHour", "CheckinPerson"):
        schema_editor.create_model(apps.get_model("ledger", name))
    hours: dict[tuple, list] = {}
    people: dict[tuple, tuple] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.scanned_at, c.checkpoint_id, c.direction, coalesce(d.citizen_id, c.subject) "
                       "FROM checkins c LEFT JOIN declarations d ON c.kind = 'vhd' AND d.declaration_id = c.subject "
                       "ORDER BY c.scanned_at")
        while rows := cursor.fetchmany(5000):
            for scanned_at, checkpoint_id, direction, person in rows:
                t = _at(scanned_at)
                local = t.astimezone(LOCAL)
                day, text = local.date().isoformat(), t.isoformat(timespec="milliseconds").replace("+00:00", "Z")
                h = hours.setdefault((day, checkpoint_id, local.hour), [0, 0, text])
                h[0 if direction == "in" else 1] += 1
                h[2] = max(h[2], text)
                people[(day, checkpoint_id, person)] = (text, direction)  # in time order: the last wins
        cursor.executemany("INSERT INTO checkin_hourly (day, checkpoint_id, hour, ins, outs, last_at) "
                           "VALUES (%s, %s, %s, %s, %s, %s)", [(*k, *v) for k, v in hours.items()])
        cursor.executemany("INSERT INTO checkin_people (day, checkpoint_id, person, last_at, last_direction) "
                           "VALUES (%s, %s, %s, %s, %s)", [(*k, *v) for k, v in people.items()])


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0001_declaration_tables'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='CheckinHour',
                    fields=[
                        ('pk', models.CompositePrimaryKey('day', 'checkpoint_id', 'hour', blank=True, editable=False, primary_key=True, serialize=False)),
                        ('day', models.DateField()),
                        ('checkpoint_id', models.TextField()),
                        ('hour', models.SmallIntegerField()),
                        ('ins', models.IntegerField()),
                        ('outs', models.IntegerField()),
                        ('last_at', models.DateTimeField()),
                    ],
                    options={
                        'db_table': 'checkin_hourly',
                    },
                ),
                migrations.CreateModel(
                    name='CheckinPerson',
                    fields=[
                        ('pk', models.CompositePrimaryKey('day', 'checkpoint_id', 'person', blank=True, editable=False, primary_key=True, serialize=False)),
                        ('day', models.DateField()),
                        ('checkpoint_id', models.TextField()),
                        ('person', models.TextField()),
                        ('last_at', models.DateTimeField()),
                        ('last_direction', models.TextField(choices=[('in', 'in'), ('out', 'out')])),
                    ],
                    options={
                        'db_table': 'checkin_people',
                    },
                ),
            ],
        ),
        migrations.RunPython(make_and_fill, elidable=False),  # sees the models the state now has
    ]
