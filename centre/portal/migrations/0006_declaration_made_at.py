"""The checkpoint whose staff declared a walk-in at the door, in a field of its own. A unit's staff
found "their" cards again by the free text `on_behalf_of` starting or ending with "(CP-ID)",
which a person can type as a relative's relation: that relative's declaration then came up in
that unit's search, to be renewed and printed. Declarations made before keep the old reading
once (nothing else tells them apart); every new one is marked by the staff's own view."""

import re

from django.db import migrations, models

_MARK = re.compile(r"^\(([A-Za-z0-9_-]{1,64})\)|\(([A-Za-z0-9_-]{1,64})\)$")


def mark_earlier_walk_ins(apps, schema_editor):
    Declaration = apps.get_model("portal", "Declaration")
    Checkpoint = apps.get_model("checkpoints", "Checkpoint")
    known = set(Checkpoint.objects.values_list("checkpoint_id", flat=True))
    for pk, text in (Declaration.objects.filter(on_behalf_of__contains="(")
                     .values_list("pk", "on_behalf_of").iterator(chunk_size=2000)):
        m = _MARK.search(text)
        cp = m and (m.group(1) or m.group(2))
        if cp in known:
            Declaration.objects.filter(pk=pk).update(made_at=cp)


class Migration(migrations.Migration):

    dependencies = [
        ("portal", "0005_place_codes_and_email"),
        ("checkpoints", "0008_one_line_text"),
    ]

    operations = [
        migrations.AddField(
            model_name="declaration",
            name="made_at",
            field=models.CharField(db_index=True, max_length=64, null=True),
        ),
        migrations.RunPython(mark_earlier_walk_ins, migrations.RunPython.noop),
    ]
