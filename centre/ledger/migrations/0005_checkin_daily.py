"""Per checkpoint and local day, the people who came and those still inside (checkin_daily), kept by
triggers on checkin_people whoever writes it (the bridge's batches, a web or staff check-in, a
rebuild), exact under concurrent writers: a row inserted adds a person, a direction turned moves
"inside", a row deleted takes its person away. Filled from checkin_people as it stands.

PostgreSQL: statement-level triggers over the transition tables, one upsert per statement and day
and checkpoint (INSERT ... ON CONFLICT fires the INSERT trigger with the rows it inserted and the
UPDATE trigger with the rows it updated). SQLite: row-level triggers, one writer at a time."""

from django.db import migrations, models

# Each upsert takes its rows in (day, checkpoint) order, as the other writers' do: two batches
# touching the same checkpoints wait for each other instead of deadlocking.
_UPSERT = ("INSERT INTO checkin_daily (day, checkpoint_id, people, inside) {select} GROUP BY 1, 2 {having} "
           "ORDER BY 1, 2 "
           "ON CONFLICT (day, checkpoint_id) DO UPDATE SET people = checkin_daily.people + excluded.people, "
           "inside = checkin_daily.inside + excluded.inside")


def _function(name: str, select: str, having: str = "") -> str:
    return (f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"{_UPSERT.format(select=select, having=having)}; RETURN NULL; END $$")


POSTGRESQL = [
    _function("checkin_daily_added", "SELECT day, checkpoint_id, count(*), "
                                     "count(*) FILTER (WHERE last_direction = 'in') FROM added"),
    # The key never changes in an update: the old and the new rows counted apart, no join.
    _function("checkin_daily_turned", "SELECT day, checkpoint_id, 0, sum(turn) FROM ("
                                      "SELECT day, checkpoint_id, (last_direction = 'in')::int AS turn FROM turned "
                                      "UNION ALL SELECT day, checkpoint_id, -(last_direction = 'in')::int FROM was) t",
              "HAVING sum(turn) <> 0"),
    _function("checkin_daily_gone", "SELECT day, checkpoint_id, -count(*), "
                                    "-count(*) FILTER (WHERE last_direction = 'in') FROM gone"),
    "CREATE TRIGGER checkin_daily_added AFTER INSERT ON checkin_people REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION checkin_daily_added()",
    "CREATE TRIGGER checkin_daily_turned AFTER UPDATE ON checkin_people REFERENCING OLD TABLE AS was "
    "NEW TABLE AS turned FOR EACH STATEMENT EXECUTE FUNCTION checkin_daily_turned()",
    "CREATE TRIGGER checkin_daily_gone AFTER DELETE ON checkin_people REFERENCING OLD TABLE AS gone "
    "FOR EACH STATEMENT EXECUTE FUNCTION checkin_daily_gone()",
]

SQLITE = [
    """CREATE TRIGGER checkin_daily_added AFTER INSERT ON checkin_people BEGIN
  INSERT OR IGNORE INTO checkin_daily (day, checkpoint_id, people, inside) VALUES (NEW.day, NEW.checkpoint_id, 0, 0);
  UPDATE checkin_daily SET people = people + 1, inside = inside + (NEW.last_direction = 'in')
  WHERE day = NEW.day AND checkpoint_id = NEW.checkpoint_id;
END""",
    """CREATE TRIGGER checkin_daily_turned AFTER UPDATE OF last_direction ON checkin_people
WHEN OLD.last_direction <> NEW.last_direction BEGIN
  UPDATE checkin_daily SET inside = inside + (NEW.last_direction = 'in') - (OLD.last_direction = 'in')
  WHERE day = NEW.day AND checkpoint_id = NEW.checkpoint_id;
END""",
    """CREATE TRIGGER checkin_daily_gone AFTER DELETE ON checkin_people BEGIN
  UPDATE checkin_daily SET people = people - 1, inside = inside - (OLD.last_direction = 'in')
  WHERE day = OLD.day AND checkpoint_id = OLD.checkpoint_id;
END""",
]


def fill_and_keep(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            # Writers wait from here to the migration's commit: none lands between the fill and
            # the triggers, so the table counts every row (SQLite has one writer at a time anyway).
            cursor.execute("LOCK TABLE checkin_people IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute("INSERT INTO checkin_daily (day, checkpoint_id, people, inside) SELECT day, checkpoint_id, "
                       "count(*), sum(CASE WHEN last_direction = 'in' THEN 1 ELSE 0 END) FROM checkin_people "
                       "GROUP BY day, checkpoint_id")
        for sql in POSTGRESQL if schema_editor.connection.vendor == "postgresql" else SQLITE:
            cursor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0004_checkpoint_approval'),
    ]

    operations = [
        migrations.CreateModel(
            name='CheckinDay',
            fields=[
                ('pk', models.CompositePrimaryKey('day', 'checkpoint_id', blank=True, editable=False, primary_key=True, serialize=False)),
                ('day', models.DateField()),
                ('checkpoint_id', models.TextField()),
                ('people', models.IntegerField()),
                ('inside', models.IntegerField()),
            ],
            options={
                'db_table': 'checkin_daily',
            },
        ),
        migrations.RunPython(fill_and_keep, elidable=False),
    ]
