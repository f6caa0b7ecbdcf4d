"""The gates, as their status and telemetry leave them in the devices table."""

from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from centre.checkpoints.models import Checkpoint
from centre.ledger.fields import StoredTime


class Device(models.Model):
    device_id = models.CharField(_("gate"), primary_key=True, max_length=64)
    checkpoint = models.ForeignKey(Checkpoint, models.DO_NOTHING, db_column="checkpoint_id",
                                   verbose_name=_("checkpoint"))
    online = models.BooleanField(_("online"), default=False)
    last_seen = StoredTime(_("last seen"), null=True)
    queue_depth = models.IntegerField(_("queue"), null=True)
    oldest_unsent_s = models.FloatField(_("oldest unsent (s)"), null=True)
    time_synced = models.BooleanField(_("clock synchronised"), null=True)
    firmware = models.CharField(_("firmware"), max_length=32, null=True)
    revoked_at = StoredTime(_("revoked"), null=True)
    telemetry = models.JSONField(_("telemetry"), null=True)  # the gate's last report, as it sent it
    created_at = StoredTime(_("enrolled"), db_default=Now())

    class Meta:
        db_table = "devices"
        ordering = ["online", "device_id"]  # offline gates first
        verbose_name = _("gate")
        verbose_name_plural = pgettext_lazy("model", "gates")

    def __str__(self) -> str:
        return self.device_id
