"""People's declarations (the declaration database's table, seen from the site) and SMS codes."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Declaration(models.Model):
    declaration_id = models.CharField(primary_key=True, max_length=64)
    full_name = models.CharField(_("full name"), max_length=100)
    citizen_id = models.CharField(_("citizen id"), max_length=12, null=True, blank=True)
    passport = models.CharField(_("passport"), max_length=20, null=True, blank=True)
    birth_year = models.IntegerField(_("birth year"))
    sex = models.CharField(_("sex"), max_length=1)
    nationality = models.CharField(_("nationality"), max_length=60, null=True)
    province = models.CharField(_("province / city"), max_length=80, null=True)
    district = models.CharField(_("district"), max_length=80, null=True)
    commune = models.CharField(_("commune / ward"), max_length=80, null=True)
    address_line = models.CharField(_("house number, street"), max_length=200, null=True)
    phone = models.CharField(_("phone"), max_length=12, null=True)
    insurance_no = models.CharField(_("health-insurance card"), max_length=15, null=True, blank=True)
    on_behalf_of = models.CharField(max_length=100, null=True)
    owner_phone = models.CharField(max_length=12, null=True)  # the phone that signed in and declared
    symptoms = models.BooleanField(default=False)
    exposure = models.BooleanField(default=False)
    travel = models.BooleanField(default=False)
    declared_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True)

    class Meta:
        managed = False  # the declaration database's table (vhd-centre migrate)
        db_table = "declarations"
        ordering = ["-declared_at"]

    @property
    def follow_up(self) -> bool:
        return self.symptoms or self.exposure or self.travel


class SmsCode(models.Model):
    """A one-time code: only its keyed hash is kept; five tries; five minutes."""

    phone = models.CharField(max_length=12, db_index=True)
    purpose = models.CharField(max_length=10)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField()
    tries = models.IntegerField(default=0)
    used = models.BooleanField(default=False)
