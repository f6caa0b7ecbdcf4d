"""The fleet of gates, and today's check-ins per checkpoint, refreshed in place."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.decorators import login_required, permission_required
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


def _today(request: HttpRequest) -> list[dict]:
    """Per checkpoint of today (Vietnam's day): check-ins, check-outs, last scan, and per hour the
    check-ins, from the rollup every insert keeps (24 rows a checkpoint at most), on either database."""
    today = timezone.localtime(timezone=TZ).date()
    checkpoints = Checkpoint.objects.all()
    unit = unit_of(request.user)
    if unit is not None:
        checkpoints = checkpoints.filter(unit=unit)
    per: dict[str, dict] = {}
    for r in CheckinHour.objects.filter(day=today).values_list("checkpoint_id", "hour", "ins", "outs", "last_at"):
        checkpoint_id, hour, ins, outs, last_at = r
        b = per.setdefault(checkpoint_id, {"in": 0, "out": 0, "hours": [0] * 24, "last": None})
        b["in"] += ins
        b["out"] += outs
        b["hours"][hour % 24] += ins
        last = timezone.localtime(last_at, TZ)
        b["last"] = max(b["last"], last) if b["last"] else last
    return _cards(checkpoints, per)


def _cards(checkpoints, per: dict) -> list[dict]:
    cards = []
    for cp in checkpoints.filter(checkpoint_id__in=list(per)).order_by("name")[:500]:
        b = per[cp.checkpoint_id]
        cards.append({"checkpoint": cp, "in": b["in"], "out": b["out"], "last": b["last"],
                      "chart": chart_path(b["hours"]), "peak": max(b["hours"])})
    return cards


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
    return render(request, "centre/live.html", {"cards": _today(request)})


@login_required
@permission_required("checkpoints.view_checkpoint", raise_exception=True)
def live_fragment(request: HttpRequest) -> HttpResponse:
    return render(request, "centre/live_cards.html", {"cards": _today(request)})
