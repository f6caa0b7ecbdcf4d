"""The audit log: every trace, every look-up of a person, every export; kept past check-in retention."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    TRACE, TRACE_EXPORT, REPORT_EXPORT, LOOKUP = "trace", "trace_export", "report_export", "lookup"
    APPROVAL, ALERT, PASSWORD, DELETION = "approval", "alert", "password_changed", "declaration_deleted"
    ACTIONS = [(TRACE, _("contact trace")), (TRACE_EXPORT, _("trace export")),
               (REPORT_EXPORT, _("report export")), (LOOKUP, _("person look-up")),
               (APPROVAL, _("unit approved")), (ALERT, _("unusual volume")), (PASSWORD, _("password changed")),
               (DELETION, _("declaration deleted on request"))]

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, verbose_name=_("user"))
    username = models.CharField(_("user name"), max_length=150)  # kept if the account is deleted
    action = models.CharField(_("action"), max_length=20, choices=ACTIONS)
    target = models.CharField(_("looked up"), max_length=200)  # the person or the report's period
    reason = models.CharField(_("reason"), max_length=500, blank=True)

    @classmethod
    def record(cls, action: str, target: str, reason: str = "", user=None, username: str = "") -> AuditEntry:
        """One entry, the one way every look-up of a person is written (site, door, command line)."""
        return cls.objects.create(user=user, username=(username or (user.get_username() if user else ""))[:150],
                                  action=action, target=target[:200], reason=reason[:500])

    class Meta:
        ordering = ["-at"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        permissions = [("view_reports", _("Can view reports")), ("trace_contacts", _("Can trace contacts"))]
