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
from centre.checkpoints.models import Checkpoint
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


LIVE_PER_PAGE = 60


def _today(request: HttpRequest) -> dict:
    """Today's check-ins (Vietnam's day) per checkpoint, from the rollup every insert keeps (24
    rows a checkpoint at most), on either database: the totals of every checkpoint the user sees,
    and one page of cards, the busiest first (check-ins, check-outs, last scan, check-ins per hour)."""
    today = timezone.localtime(timezone=TZ).date()
    per: dict[str, dict] = {}
    for r in CheckinHour.objects.filter(day=today).values_list("checkpoint_id", "hour", "ins", "outs", "last_at"):
        checkpoint_id, hour, ins, outs, last_at = r
        b = per.setdefault(checkpoint_id, {"in": 0, "out": 0, "hours": [0] * 24, "last": None})
        b["in"] += ins
        b["out"] += outs
        b["hours"][hour % 24] += ins
        b["last"] = max(b["last"], last_at) if b["last"] else last_at
    checkpoints = Checkpoint.objects.filter(checkpoint_id__in=list(per))
    unit = unit_of(request.user)
    if unit is not None:
        checkpoints = checkpoints.filter(unit=unit)
    names = dict(checkpoints.values_list("checkpoint_id", "name"))
    busiest = sorted(names, key=lambda k: (-per[k]["in"], names[k], k))
    page = Paginator(busiest, LIVE_PER_PAGE).get_page(request.GET.get("page"))
    cards = [{"id": k, "name": names[k], "in": per[k]["in"], "out": per[k]["out"],
              "last": timezone.localtime(per[k]["last"], TZ), "chart": chart_path(per[k]["hours"]),
              "peak": max(per[k]["hours"])} for k in page.object_list]
    return {"cards": cards, "page": page, "checkpoints": len(names),
            "in": sum(per[k]["in"] for k in names), "out": sum(per[k]["out"] for k in names)}


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
