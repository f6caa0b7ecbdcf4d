"""`vhd-centre report`: the site's report on the command line, the same figures as its CSV."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from centre.reports.figures import FIRST_DAY, LAST_DAY, checkpoint_days, unit_days
from centre.reports.figures import render as render_rows
from centre.reports.store import SiteStore


def day(text: str) -> date:
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"bad date {text!r}: use YYYY-MM-DD") from None
    if not FIRST_DAY <= d <= LAST_DAY:
        raise CommandError(f"date {text!r} is outside {FIRST_DAY}..{LAST_DAY}")
    return d


class Command(BaseCommand):
    help = "Check-ins per checkpoint and day, or per unit, as CSV or JSON lines (days in Vietnam's time)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", help="first day, YYYY-MM-DD (default: today)")
        parser.add_argument("--to", dest="date_to", help="last day (default: the first)")
        parser.add_argument("--checkpoint")
        parser.add_argument("--by", choices=["checkpoint", "unit"], default="checkpoint")
        parser.add_argument("--format", choices=["csv", "json"], default="csv")

    def handle(self, *args, **options):
        first = day(options["date_from"]) if options["date_from"] else timezone.localdate()
        last = day(options["date_to"]) if options["date_to"] else first
        if last < first:
            raise CommandError("--to is before --from")
        store = SiteStore()
        rows = (unit_days(store, first, last) if options["by"] == "unit"
                else checkpoint_days(store, first, last, options["checkpoint"]))
        self.stdout.write(render_rows(rows, options["format"]), ending="")
