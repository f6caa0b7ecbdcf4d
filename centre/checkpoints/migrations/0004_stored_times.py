"""The times' columns as centre.ledger.fields.StoredTime writes them (ledger 0003 rewrote old rows)."""

import django.db.models.functions.datetime
from django.db import migrations

import centre.ledger.fields


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0003_stored_times'),
        ('checkpoints', '0003_declaration_tables_managed'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[  # the columns are as they were
            migrations.AlterField(
                model_name='checkpoint',
                name='created_at',
                field=centre.ledger.fields.StoredTime(db_default=django.db.models.functions.datetime.Now(), verbose_name='registered'),
            ),
        ]),
    ]
