"""Declarations deleted while their QR was still valid (deleted_declarations), recorded by a trigger
on declarations whoever deletes them: the bridge publishes the list to the gates, which refuse those
QR codes until they would have expired. A declaration deleted after its expiry (retention) is not
recorded: its QR is refused as expired anyway. The trigger: centre/ledger/deletions.py."""

from django.db import migrations, models
from django.db.models.functions import Now

import centre.ledger.fields


def record_deletions(apps, schema_editor):
    from centre.ledger.deletions import record_deletions

    record_deletions(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0005_checkin_daily'),
    ]

    operations = [
        migrations.CreateModel(
            name='DeletedDeclaration',
            fields=[
                ('declaration_id', models.TextField(primary_key=True, serialize=False)),
                ('until', centre.ledger.fields.StoredTime()),
                ('deleted_at', centre.ledger.fields.StoredTime(db_default=Now())),
            ],
            options={
                'db_table': 'deleted_declarations',
            },
        ),
        migrations.RunPython(record_deletions, elidable=False),
    ]
