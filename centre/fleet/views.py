"""The fleet of gates, and today's check-ins per checkpoint, refreshed in place."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from centre.accounts.roles import unit_of
from centre.fleet import LIVE_PER_PAGE
from centre.fleet.models import Device
from centre.fleet.today import checkpoint_totals, hours_of
from centre.reports.figures import TZ
from centre.reports.store import SiteStore


@login_required
@permission_required("fleet.view_device", raise_exception=True)
def fleet(request: HttpRequest) -> HttpResponse:
    devices = Device.objects.select_related("checkpoint").order_by("online", "device_id")
    now = timezone.now()
    devices = list(devices)
    for d in devices:
        d.seen_ago = seen_ago(now, d.last_seen)
    return render(request, "centre/fleet.html", {"devices": devices})


def seen_ago(now: datetime, then: datetime | None) -> str:
    """"vừa xong", "5 phút trước", "3 giờ trước", "2 ngày trước": Django's timesince has no
    Vietnamese, and says "0 minutes" for a gate heard from a second ago."""
    if then is None:
        return "—"
    seconds = (now - then).total_seconds()
    if seconds < 60:
        return gettext("just now")
    minutes = int(seconds // 60)
    if minutes < 60:
        return ngettext("%(n)d minute ago", "%(n)d minutes ago", minutes) % {"n": minutes}
    hours = minutes // 60
    if hours < 48:
        return ngettext("%(n)d hour ago", "%(n)d hours ago", hours) % {"n": hours}
    days = hours // 24
    return ngettext("%(n)d day ago", "%(n)d days ago", days) % {"n": days}


def _today(request: HttpRequest) -> dict:
    """Today's check-ins (Vietnam's day) per checkpoint, from the rollup every insert keeps, on
    either database: the totals of every checkpoint the user sees, summed by the database, and one
    page of cards, the busiest first (check-ins, check-outs, last scan), with the hours (check-ins
    per hour, the last scan) read for that page's checkpoints only."""
    store, today = SiteStore(), timezone.localtime(timezone=TZ).date()  # the replica's when reports read it
    totals = checkpoint_totals(store, today, unit_of(request.user))
    page = Paginator(totals, LIVE_PER_PAGE).get_page(request.GET.get("page"))
    hours = hours_of(store, today, [k for k, _, _, _ in page.object_list])
    cards = [{"id": k, "name": name, "in": ins, "out": outs,
              "last": hours[k][1].astimezone(TZ).strftime("%H:%M:%S"),  # not the time filter: 30 a page
              "chart": chart_path(hours[k][0]), "peak": max(hours[k][0])}
             for k, name, ins, outs in page.object_list]
    return {"cards": cards, "page": page, "checkpoints": len(totals),
            "in": sum(r[2] for r in totals), "out": sum(r[3] for r in totals)}


def chart_path(hours: list[int], height: int = 60) -> str:
    """The 24 hourly bars as one SVG path (numbers only): one element per chart keeps a page of
    hundreds of checkpoints quick to render."""
    top = max(hours) or 1
    parts = []
    for h, n in enumerate(hours):
        bar = round(height * n / top)
        if bar:
            parts.append(f"M{h * 10} {height}v-{bar}h8v{bar}z")
    return "".join(parts)


@login_required
@permission_required("checkpoints.view_checkpoint", raise_exception=True)
def live(request: HttpRequest) -> HttpResponse:
    return render(request, "centre/live.html", _today(request))


@login_required
@permission_required("checkpoints.view_checkpoint", raise_exception=True)
def live_fragment(request: HttpRequest) -> HttpResponse:
    return render(request, "centre/live_cards.html", _today(request))
