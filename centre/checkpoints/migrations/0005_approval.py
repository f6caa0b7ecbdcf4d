"""The approval columns (made by ledger 0004, with the existing rows reviewed) join the state."""

from django.db import migrations, models

import centre.ledger.fields


class Migration(migrations.Migration):

    dependencies = [
        ('checkpoints', '0004_stored_times'),
        ('ledger', '0004_checkpoint_approval'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='checkpoint',
            options={'ordering': ['checkpoint_id'], 'permissions': [('approve_checkpoint', "Can approve a unit's checkpoint")], 'verbose_name': 'checkpoint', 'verbose_name_plural': 'checkpoints'},
        ),
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AddField(
                model_name='checkpoint',
                name='approved_at',
                field=centre.ledger.fields.StoredTime(blank=True, null=True, verbose_name='approved'),
            ),
            migrations.AddField(
                model_name='checkpoint',
                name='approved_by',
                field=models.CharField(blank=True, max_length=150, null=True, verbose_name='approved by'),
            ),
        ]),
    ]
