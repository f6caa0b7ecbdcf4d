"""Checkpoints (điểm kiểm dịch): the table the bridge and provisioning share, seen from the site."""

from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from centre.ledger.fields import StoredTime


class Checkpoint(models.Model):
    checkpoint_id = models.CharField(_("checkpoint id"), primary_key=True, max_length=64)
    name = models.CharField(_("name"), max_length=200)
    address = models.CharField(_("address"), max_length=300, blank=True, default="")
    contact_phone = models.CharField(_("phone"), max_length=40, blank=True, default="")
    unit = models.CharField(_("unit"), max_length=200, blank=True, default="")
    kind = models.CharField(_("kind"), max_length=20, blank=True, default="", choices=[
        ("restaurant", _("restaurant")), ("lodging", _("lodging")), ("school", _("school")),
        ("hospital", _("hospital")), ("apartment", _("apartment block")), ("shop", _("shop")),
        ("office", _("office"))])
    created_at = StoredTime(_("registered"), db_default=Now())

    class Meta:
        db_table = "checkpoints"
        ordering = ["checkpoint_id"]
        verbose_name = _("checkpoint")
        verbose_name_plural = pgettext_lazy("model", "checkpoints")

    def __str__(self) -> str:
        return f"{self.checkpoint_id} {self.name}"
