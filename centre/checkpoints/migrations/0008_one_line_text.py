"""A checkpoint's name, address, phone, contact person and unit are one line of text (validators
only: the table does not change)."""

from django.db import migrations, models

import centre.checkpoints.models

ONE_LINE = [centre.checkpoints.models.one_line_text]


class Migration(migrations.Migration):

    dependencies = [
        ("checkpoints", "0007_place_codes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="checkpoint", name="address",
            field=models.CharField(blank=True, default="", max_length=300, validators=ONE_LINE, verbose_name="address"),
        ),
        migrations.AlterField(
            model_name="checkpoint", name="contact_person",
            field=models.CharField(blank=True, max_length=100, null=True, validators=ONE_LINE,
                                   verbose_name="contact person"),
        ),
        migrations.AlterField(
            model_name="checkpoint", name="contact_phone",
            field=models.CharField(blank=True, default="", max_length=40, validators=ONE_LINE, verbose_name="phone"),
        ),
        migrations.AlterField(
            model_name="checkpoint", name="name",
            field=models.CharField(max_length=200, validators=ONE_LINE, verbose_name="name"),
        ),
        migrations.AlterField(
            model_name="checkpoint", name="unit",
            field=models.CharField(blank=True, default="", max_length=200, validators=ONE_LINE, verbose_name="unit"),
        ),
    ]
