"""`vhd-centre retention`: check-ins past the retention window deleted (run daily by a timer), the
phone accounts of people and units that have not signed in since, with nothing kept under them,
spent sign-in codes and ended sessions."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils import timezone

from centre.portal import otp
from centre.reports.retention import CHECKIN_DAYS, check_window, purge
from common.args import number_in
from mqtt_bridge.centre_api import store_on


class Command(BaseCommand):
    help = "Delete check-ins older than the window (and any dated impossibly far ahead) and expired declarations."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=number_in(int, 0, 3650), default=CHECKIN_DAYS)
        parser.add_argument("--declaration-days", type=number_in(int, 0, 3650), default=30,
                            help="days after a declaration expires")
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")
        parser.add_argument("--force", action="store_true", help="allow a window shorter than 14 days")

    def handle(self, *args, **o):
        check_window(o["days"], o["force"])
        connection.ensure_connection()
        p = purge(store_on(connection.vendor, connection.connection), o["days"], o["declaration_days"],
                  dry_run=o["dry_run"])
        idle = self._idle_phone_accounts(o["days"])
        accounts = idle.count()
        codes = sessions = 0
        if not p.dry_run:
            idle.delete()
            codes = otp.forget_old()
            # Django leaves ended sessions in the table; each names an account
            sessions = Session.objects.filter(expire_date__lt=timezone.now()).delete()[0]
        verb = "would delete" if p.dry_run else "deleted"
        self.stdout.write(f"{verb} {p.checkins} check-in(s) older than {o['days']} days "
                          f"({p.partitions_dropped} partition(s) dropped), {p.future} dated ahead of the clock, "
                          f"{p.declarations} expired declaration(s), {accounts} idle phone account(s)"
                          + ("" if p.dry_run else f", {codes} spent sign-in code(s), {sessions} ended session(s)"))

    @staticmethod
    def _idle_phone_accounts(days: int):
        """Phones that signed in (people, units) longer ago than the window, with no declaration
        kept under them and no checkpoint naming them: their accounts hold nothing the mission needs."""
        from centre.checkpoints.models import Checkpoint
        from centre.portal.models import Declaration

        before = timezone.now() - timedelta(days=days)
        phone = OuterRef("phone_account__phone")
        return (get_user_model().objects.filter(phone_account__isnull=False, last_login__lt=before)
                .exclude(Exists(Declaration.objects.filter(owner_phone=phone)))
                .exclude(Exists(Checkpoint.objects.filter(contact_phone=phone))))
