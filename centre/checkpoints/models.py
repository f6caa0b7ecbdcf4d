"""Checkpoints (điểm kiểm dịch): the table the bridge and provisioning share, seen from the site."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from centre.ledger.fields import StoredTime
from protocol.checkpoint import one_line


def one_line_text(value: str) -> None:
    """protocol.checkpoint.one_line, for every form and the admin: what a poster, a gate's screen
    and config, and a report carry as it is."""
    if value and not one_line(value):
        raise ValidationError(_("One line of text, without control characters."), code="one_line")


class Checkpoint(models.Model):
    checkpoint_id = models.CharField(_("checkpoint id"), primary_key=True, max_length=64)
    name = models.CharField(_("name"), max_length=200, validators=[one_line_text])
    address = models.CharField(_("address"), max_length=300, validators=[one_line_text], blank=True, default="")
    contact_phone = models.CharField(_("phone"), max_length=40, validators=[one_line_text], blank=True, default="")
    contact_person = models.CharField(_("contact person"), max_length=100, validators=[one_line_text], null=True,
                                      blank=True)
    unit = models.CharField(_("unit"), max_length=200, validators=[one_line_text], blank=True, default="")
    # Where it is by the official codes (centre.places): asked of every unit that registers itself.
    province_code = models.SmallIntegerField(_("province code"), null=True, blank=True, db_index=True)
    ward_code = models.IntegerField(_("ward code"), null=True, blank=True, db_index=True)
    kind = models.CharField(_("kind"), max_length=20, blank=True, default="", choices=[
        ("restaurant", _("restaurant")), ("lodging", _("lodging")), ("school", _("school")),
        ("hospital", _("hospital")), ("apartment", _("apartment block")), ("shop", _("shop")),
        ("office", _("office"))])
    created_at = StoredTime(_("registered"), db_default=Now())
    # A unit that registered itself looks people up at its door once the district approves it.
    approved_at = StoredTime(_("approved"), null=True, blank=True)
    approved_by = models.CharField(_("approved by"), max_length=150, null=True, blank=True)

    class Meta:
        db_table = "checkpoints"
        ordering = ["checkpoint_id"]
        verbose_name = _("checkpoint")
        verbose_name_plural = pgettext_lazy("model", "checkpoints")
        permissions = [("approve_checkpoint", _("Can approve a unit's checkpoint"))]

    def approve(self, by: str) -> None:
        from django.utils import timezone

        Checkpoint.objects.filter(pk=self.pk).update(approved_at=timezone.now(), approved_by=by[:150])
        self.refresh_from_db(fields=["approved_at", "approved_by"])

    def __str__(self) -> str:
        return f"{self.checkpoint_id} {self.name}"
