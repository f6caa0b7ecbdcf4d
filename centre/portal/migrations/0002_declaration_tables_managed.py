"""Declarations become Django's to migrate: the table exists (ledger 0001 made or upgraded it)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0001_initial'),
        ('ledger', '0001_declaration_tables'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='declaration',
            options={'ordering': ['-declared_at']},
        ),
    ]
