"""A declaration's province and ward by their official codes (centre.places), and an optional email."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0004_stored_times'),
    ]

    operations = [
        migrations.AddField(
            model_name='declaration',
            name='email',
            field=models.CharField(blank=True, max_length=254, null=True, verbose_name='email'),
        ),
        migrations.AddField(
            model_name='declaration',
            name='province_code',
            field=models.SmallIntegerField(db_index=True, null=True, verbose_name='province code'),
        ),
        migrations.AddField(
            model_name='declaration',
            name='ward_code',
            field=models.IntegerField(db_index=True, null=True, verbose_name='ward code'),
        ),
    ]
