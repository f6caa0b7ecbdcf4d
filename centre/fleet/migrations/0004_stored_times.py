"""The times' columns as centre.ledger.fields.StoredTime writes them (ledger 0003 rewrote old rows)."""

import django.db.models.functions.datetime
from django.db import migrations

import centre.ledger.fields


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0003_stored_times'),
        ('fleet', '0003_declaration_tables_managed'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[  # the columns are as they were
            migrations.AlterField(
                model_name='device',
                name='created_at',
                field=centre.ledger.fields.StoredTime(db_default=django.db.models.functions.datetime.Now(), verbose_name='enrolled'),
            ),
            migrations.AlterField(
                model_name='device',
                name='last_seen',
                field=centre.ledger.fields.StoredTime(null=True, verbose_name='last seen'),
            ),
            migrations.AlterField(
                model_name='device',
                name='revoked_at',
                field=centre.ledger.fields.StoredTime(null=True, verbose_name='revoked'),
            ),
        ]),
    ]
