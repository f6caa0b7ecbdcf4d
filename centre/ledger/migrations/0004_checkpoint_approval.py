"""A checkpoint's approval by the district (who, when): a unit that registered itself on the portal
may look people up at its door only once approved. Checkpoints the district or a technician made
are approved from the start; those that look self-registered (CP- and 8 hex digits, the unit named
as the place) wait for review, as new ones will."""

from django.db import migrations

SELF_REGISTERED = {
    "postgresql": "checkpoint_id ~ '^CP-[0-9A-F]{8}$' AND unit = name",
    "sqlite": "checkpoint_id GLOB 'CP-" + "[0-9A-F]" * 8 + "' AND length(checkpoint_id) = 11 AND unit = name",
}


def add_approval(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    time, now = ("timestamptz", "now()") if vendor == "postgresql" else \
        ("TEXT", "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE checkpoints ADD COLUMN approved_at {time}")
        cursor.execute(f"ALTER TABLE checkpoints ADD COLUMN approved_by {'text' if vendor == 'postgresql' else 'TEXT'}")
        cursor.execute(f"UPDATE checkpoints SET approved_at = {now}, approved_by = '(before reviews)' "
                       f"WHERE NOT ({SELF_REGISTERED[vendor]})")


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0003_stored_times'),
    ]

    operations = [
        migrations.RunPython(add_approval, elidable=False),
    ]
