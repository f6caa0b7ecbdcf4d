"""Who the district calls at a unit (asked when it registers itself)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('checkpoints', '0005_approval'),
    ]

    operations = [
        migrations.AddField(
            model_name='checkpoint',
            name='contact_person',
            field=models.CharField(blank=True, max_length=100, null=True, verbose_name='contact person'),
        ),
    ]
