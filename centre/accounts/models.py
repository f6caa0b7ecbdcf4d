"""Who belongs to which unit, and the login attempts the throttle counts (in the database, so
every gunicorn worker and host sees the same count)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UnitMembership(models.Model):
    """A unit manager sees only this unit's checkpoints, check-ins and reports."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE, related_name="unit_membership")
    unit = models.CharField(_("unit"), max_length=200)

    def __str__(self) -> str:
        return f"{self.user} → {self.unit}"


class LoginAttempt(models.Model):
    key = models.CharField(max_length=80, db_index=True)  # "ip:..." or "user:" + keyed hash
    at = models.DateTimeField(auto_now_add=True, db_index=True)
