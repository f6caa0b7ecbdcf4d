"""`vhd-centre trace`: contact tracing on the command line, audited as the site's is."""

from __future__ import annotations

import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from centre.reports.figures import MAX_DAYS, TZ, day_bounds
from centre.reports.management.commands.report import day
from centre.reports.models import AuditEntry
from centre.reports.store import SiteStore
from centre.reports.tracing import trace
from common.args import number_in


class Command(BaseCommand):
    help = "Visits and contacts of a person (declaration id or citizen id), JSON lines; audited."

    def add_arguments(self, parser):
        parser.add_argument("person")
        parser.add_argument("--from", dest="date_from", required=True)
        parser.add_argument("--to", dest="date_to")
        parser.add_argument("--max-stay-hours", type=number_in(float, 0.25, 24), default=4.0,
                            help="how long someone without a check-out counts as inside (capped at the day's end)")
        parser.add_argument("--reason", required=True, help="why (the case, the request): kept in the audit log")
        parser.add_argument("--by", dest="who", required=True, help="who asks: kept in the audit log")

    def handle(self, *args, **o):
        if not o["reason"].strip() or not o["who"].strip():
            raise CommandError("--reason and --by must say something: both go into the audit log")
        first, last = day(o["date_from"]), day(o["date_to"] or o["date_from"])
        if last < first:
            raise CommandError("--to is before --from")
        if (last - first).days >= MAX_DAYS:
            raise CommandError(f"a trace covers at most {MAX_DAYS} days")
        start, end = day_bounds(first, last, TZ)
        person = o["person"].strip()
        if not person or len(person) > 64:  # as the site's form takes it
            raise CommandError("the person is a declaration id or a citizen id (64 characters at most)")
        AuditEntry.record(AuditEntry.TRACE, person, o["reason"], username=f"{o['who'].strip()} (vhd-centre)")
        visits, contacts = trace(SiteStore(), person, start, end, timedelta(hours=o["max_stay_hours"]))
        at = lambda t: t.astimezone(TZ).isoformat(timespec="seconds")  # noqa: E731
        for v in visits:
            self.stdout.write(json.dumps({"type": "visit", "subject": v.subject, "checkpoint_id": v.checkpoint_id,
                                          "start": at(v.start), "end": at(v.end), "checked_out": v.closed},
                                         ensure_ascii=False))
        for c in contacts:
            self.stdout.write(json.dumps({"type": "contact", "subject": c.subject, "display_name": c.display_name,
                                          "checkpoint_id": c.checkpoint_id, "first_overlap": at(c.first_overlap),
                                          "last_overlap": at(c.last_overlap),
                                          "overlap_minutes": c.overlap_minutes}, ensure_ascii=False))
        self.stderr.write(f"{len(contacts)} contact(s) in {len(visits)} visit(s); audited")
