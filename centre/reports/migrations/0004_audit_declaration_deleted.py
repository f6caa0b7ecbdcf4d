from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('reports', '0003_audit_password_changed'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('trace', 'contact trace'), ('trace_export', 'trace export'), ('report_export', 'report export'), ('lookup', 'person look-up'), ('approval', 'unit approved'), ('alert', 'unusual volume'), ('password_changed', 'password changed'), ('declaration_deleted', 'declaration deleted on request')], max_length=20, verbose_name='action'),
        ),
    ]
