"""Gates become Django's to migrate: the table exists (ledger 0001 made or upgraded it), so its
columns join the migration state without touching the database."""

import django.db.models.deletion
import django.db.models.functions.datetime
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('fleet', '0002_alter_device_options'),
        ('ledger', '0001_declaration_tables'),
        ('checkpoints', '0003_declaration_tables_managed'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='device',
            options={'ordering': ['online', 'device_id'], 'verbose_name': 'gate', 'verbose_name_plural': 'gates'},
        ),
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AddField(
                model_name='device',
                name='checkpoint',
                field=models.ForeignKey(db_column='checkpoint_id', default=None, on_delete=django.db.models.deletion.DO_NOTHING, to='checkpoints.checkpoint', verbose_name='checkpoint'),
                preserve_default=False,
            ),
            migrations.AddField(
                model_name='device',
                name='revoked_at',
                field=models.DateTimeField(null=True, verbose_name='revoked'),
            ),
            migrations.AddField(
                model_name='device',
                name='telemetry',
                field=models.JSONField(null=True, verbose_name='telemetry'),
            ),
            migrations.AddField(
                model_name='device',
                name='created_at',
                field=models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), verbose_name='enrolled'),
            ),
        ]),
    ]
