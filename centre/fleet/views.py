"""The fleet of gates, and today's check-ins per checkpoint, refreshed in place."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from centre.accounts.roles import unit_of
from centre.checkpoints.models import Checkpoint
from centre.fleet import LIVE_PER_PAGE
from centre.fleet.models import Device
from centre.ledger.models import CheckinHour
from centre.reports.figures import TZ


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
    today = timezone.localtime(timezone=TZ).date()
    rows = CheckinHour.objects.filter(day=today)
    checkpoints = Checkpoint.objects.filter(checkpoint_id__in=rows.values("checkpoint_id"))
    unit = unit_of(request.user)
    if unit is not None:
        checkpoints = checkpoints.filter(unit=unit)
    names = dict(checkpoints.values_list("checkpoint_id", "name"))
    per = {k: (ins, outs) for k, ins, outs in rows.values("checkpoint_id").annotate(
        ins=Sum("ins"), outs=Sum("outs")).values_list("checkpoint_id", "ins", "outs") if k in names}
    busiest = sorted(per, key=lambda k: (-per[k][0], names[k], k))
    page = Paginator(busiest, LIVE_PER_PAGE).get_page(request.GET.get("page"))
    hours: dict[str, list[int]] = {k: [0] * 24 for k in page.object_list}
    last: dict[str, datetime] = {}
    for k, hour, ins, at in rows.filter(checkpoint_id__in=page.object_list).values_list(
            "checkpoint_id", "hour", "ins", "last_at"):
        hours[k][hour % 24] += ins
        last[k] = max(last.get(k, at), at)
    cards = [{"id": k, "name": names[k], "in": per[k][0], "out": per[k][1],
              "last": last[k].astimezone(TZ).strftime("%H:%M:%S"),  # not the time filter: 30 a page
              "chart": chart_path(hours[k]), "peak": max(hours[k])} for k in page.object_list]
    return {"cards": cards, "page": page, "checkpoints": len(per),
            "in": sum(v[0] for v in per.values()), "out": sum(v[1] for v in per.values())}


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
