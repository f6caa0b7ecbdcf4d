"""The times' columns as centre.ledger.fields.StoredTime writes them (ledger 0003 rewrote old rows)."""

from django.db import migrations

import centre.ledger.fields


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0003_stored_times'),
        ('portal', '0003_phone_accounts'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[  # the columns are as they were
            migrations.AlterField(
                model_name='declaration',
                name='declared_at',
                field=centre.ledger.fields.StoredTime(),
            ),
            migrations.AlterField(
                model_name='declaration',
                name='expires_at',
                field=centre.ledger.fields.StoredTime(null=True),
            ),
        ]),
    ]
