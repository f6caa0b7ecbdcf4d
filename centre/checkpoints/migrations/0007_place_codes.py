"""Where a checkpoint is by the official codes of its province and ward (centre.places)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('checkpoints', '0006_contact_person'),
    ]

    operations = [
        migrations.AddField(
            model_name='checkpoint',
            name='province_code',
            field=models.SmallIntegerField(blank=True, db_index=True, null=True, verbose_name='province code'),
        ),
        migrations.AddField(
            model_name='checkpoint',
            name='ward_code',
            field=models.IntegerField(blank=True, db_index=True, null=True, verbose_name='ward code'),
        ),
    ]
