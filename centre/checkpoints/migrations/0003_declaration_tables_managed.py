"""Checkpoints become Django's to migrate: the table exists (ledger 0001 made or upgraded it), so
its columns join the migration state without touching the database."""

import django.db.models.functions.datetime
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('checkpoints', '0002_alter_checkpoint_options'),
        ('ledger', '0001_declaration_tables'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='checkpoint',
            options={'ordering': ['checkpoint_id'], 'verbose_name': 'checkpoint', 'verbose_name_plural': 'checkpoints'},
        ),
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.AddField(
                model_name='checkpoint',
                name='kind',
                field=models.CharField(blank=True, choices=[('restaurant', 'restaurant'), ('lodging', 'lodging'), ('school', 'school'), ('hospital', 'hospital'), ('apartment', 'apartment block'), ('shop', 'shop'), ('office', 'office')], default='', max_length=20, verbose_name='kind'),
            ),
            migrations.AddField(
                model_name='checkpoint',
                name='created_at',
                field=models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), verbose_name='registered'),
            ),
        ]),
    ]
