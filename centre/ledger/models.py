"""Check-ins and what the bridge keeps to place them in time, as models: the bridge writes these
tables on its own hot path (COPY on PostgreSQL), the site reads them through the ORM."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from centre.ledger.fields import StoredTime

DIRECTIONS = [("in", pgettext_lazy("direction", "in")), ("out", pgettext_lazy("direction", "out"))]
KINDS = [("vhd", _("declaration QR")), ("cccd", _("citizen id card"))]


class Checkin(models.Model):
    """One scan at a door. On PostgreSQL the table is partitioned by month of `scanned_at`, so the
    key holds it; an event id is still stored once (checkin_ids there, a unique index on SQLite)."""

    pk = models.CompositePrimaryKey("event_id", "scanned_at")
    event_id = models.CharField(max_length=36)  # text on SQLite, uuid on PostgreSQL
    scanned_at = StoredTime(_("time"))
    device_id = models.TextField(_("gate"))
    checkpoint_id = models.TextField(_("checkpoint"))
    direction = models.TextField(_("direction"), choices=DIRECTIONS)
    kind = models.TextField(_("kind"), choices=KINDS)
    subject = models.TextField(_("person"))  # a declaration id, or a citizen id's keyed hash
    display_name = models.TextField(_("name"), db_default="")
    mono_ns = models.BigIntegerField()
    boot_id = models.TextField()
    time_synced = models.BooleanField()
    firmware = models.TextField()
    received_at = StoredTime(db_default=Now())

    @classmethod
    def of_person(cls, subjects: list[str], since: datetime, limit: int = 100) -> list[Checkin]:
        """A person's scans (under any of their subjects: declaration id, citizen id) since then,
        newest first, each with its place's name as `place`."""
        from centre.checkpoints.models import Checkpoint

        visits = list(cls.objects.filter(subject__in=subjects, scanned_at__gte=since).order_by("-scanned_at")[:limit])
        names = dict(Checkpoint.objects.filter(pk__in={v.checkpoint_id for v in visits}).values_list("pk", "name"))
        for v in visits:
            v.place = names.get(v.checkpoint_id, v.checkpoint_id)
        return visits

    @classmethod
    def at_checkpoint(cls, checkpoint_id: str, start: datetime, end: datetime, limit: int = 200):
        """A checkpoint's scans in [start, end), newest first."""
        return cls.objects.filter(checkpoint_id=checkpoint_id, scanned_at__gte=start,
                                  scanned_at__lt=end).order_by("-scanned_at")[:limit]

    class Meta:
        db_table = "checkins"
        indexes = [models.Index(fields=["checkpoint_id", "scanned_at"], name="checkins_checkpoint_time"),
                   models.Index(fields=["subject", "scanned_at"], name="checkins_subject_time")]
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")


class BootClock(models.Model):
    """A gate boot whose clock was unset: the offset that places its scans, once known."""

    pk = models.CompositePrimaryKey("device_id", "boot_id")
    device_id = models.TextField()
    boot_id = models.TextField()
    offset_ms = models.BigIntegerField()
    updated_at = StoredTime(db_default=Now())

    class Meta:
        db_table = "boot_clocks"


class UnplacedCheckin(models.Model):
    """A scan held until its boot's clock is known (its message body as it came)."""

    event_id = models.CharField(primary_key=True, max_length=36)
    device_id = models.TextField()
    boot_id = models.TextField()
    body = models.TextField()
    received_at = StoredTime(db_default=Now())

    class Meta:
        db_table = "checkins_unplaced"
        indexes = [models.Index(fields=["device_id", "boot_id"], name="checkins_unplaced_boot")]


class CheckinHour(models.Model):
    """Per checkpoint, local day and hour: check-ins, check-outs and the last scan, kept by every
    insert (the bridge's, a web or staff check-in's) on both databases. The live page and the
    reports read these, never the check-ins."""

    pk = models.CompositePrimaryKey("day", "checkpoint_id", "hour")
    day = models.DateField()
    checkpoint_id = models.TextField()
    hour = models.SmallIntegerField()
    ins = models.IntegerField()
    outs = models.IntegerField()
    last_at = StoredTime()

    class Meta:
        db_table = "checkin_hourly"


class CheckinPerson(models.Model):
    """Per checkpoint, local day and person (their citizen id where their declaration names one):
    their last scan and its direction (a later scan wins however late it arrives)."""

    pk = models.CompositePrimaryKey("day", "checkpoint_id", "person")
    day = models.DateField()
    checkpoint_id = models.TextField()
    person = models.TextField()
    last_at = StoredTime()
    last_direction = models.TextField(choices=DIRECTIONS)

    class Meta:
        db_table = "checkin_people"


class CheckinDay(models.Model):
    """Per checkpoint and local day: the people who came (one row of checkin_people each) and of
    them those whose last scan was a check-in. Kept by triggers on checkin_people (ledger 0005) on
    both databases, so a district day's report reads hundreds of rows, not half a million."""

    pk = models.CompositePrimaryKey("day", "checkpoint_id")
    day = models.DateField()
    checkpoint_id = models.TextField()
    people = models.IntegerField()
    inside = models.IntegerField()

    class Meta:
        db_table = "checkin_daily"


class DeletedDeclaration(models.Model):
    """A declaration deleted while its QR was still valid: the gates refuse that QR until `until`
    (its expiry), the bridge publishing the list to them. Recorded by a trigger on declarations
    (ledger 0006), whoever deletes (the person on the portal, an operator in SQL)."""

    declaration_id = models.TextField(primary_key=True)
    until = StoredTime()
    deleted_at = StoredTime(db_default=Now())

    class Meta:
        db_table = "deleted_declarations"
