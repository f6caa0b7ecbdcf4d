"""Contact tracing: who was at the same checkpoint as a person, when, and for how long."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from mqtt_bridge.centre_api import PERSON_CHECKINS, ReadStore, as_time
from protocol.event import LOCAL_TIME_ZONE

TZ = ZoneInfo(LOCAL_TIME_ZONE)
DEFAULT_MAX_STAY = timedelta(hours=4)


@dataclass(frozen=True)
class Visit:
    subject: str
    display_name: str
    checkpoint_id: str
    start: datetime
    end: datetime
    closed: bool  # False: no check-out, so inside until the maximum stay or the end of the day


@dataclass(frozen=True)
class Contact:
    subject: str
    display_name: str
    checkpoint_id: str
    first_overlap: datetime
    last_overlap: datetime
    overlap_minutes: float


def subjects_of(store: ReadStore, who: str) -> set[str]:
    """A person's every subject: the id given, the citizen id behind a declaration, and every
    declaration made with that citizen id (a card scan and a phone QR are the same person)."""
    found = {who}
    rows = store.query("SELECT declaration_id, citizen_id FROM declarations "
                       "WHERE declaration_id = ? OR citizen_id = ?", (who, who))
    for r in rows:
        found.add(r["declaration_id"])
        if r["citizen_id"]:
            found.add(r["citizen_id"])
    citizen_ids = [r["citizen_id"] for r in rows if r["citizen_id"] and r["citizen_id"] != who]
    for cid in citizen_ids:
        found |= {r["declaration_id"] for r in store.query(
            "SELECT declaration_id FROM declarations WHERE citizen_id = ?", (cid,))}
    return found


def build_visits(rows: list[dict], max_stay: timedelta, tz=TZ) -> list[Visit]:
    """Pair each person's check-ins with their check-outs, per checkpoint; rows in time order."""
    open_in: dict[tuple[str, str], dict] = {}
    visits: list[Visit] = []

    def close(r_in: dict, at: datetime | None, checked_out: bool) -> None:
        start = as_time(r_in["scanned_at"])
        day_end = datetime.combine(start.astimezone(tz).date() + timedelta(days=1), time(), tz)
        cap = min(start + max_stay, day_end)
        if checked_out and at is not None and at <= day_end:
            end, closed = at, True  # a real check-out the same day ends the stay, however long
        else:
            end, closed = (min(at, cap) if at is not None else cap), False
        visits.append(Visit(r_in["subject"], r_in["display_name"], r_in["checkpoint_id"], start, end, closed))

    for r in rows:
        key = (r["subject"], r["checkpoint_id"])
        t = as_time(r["scanned_at"])
        if r["direction"] == "in":
            if key in open_in:
                close(open_in[key], t, False)  # checked in again: the earlier stay ended by then
            open_in[key] = r
        elif key in open_in:
            close(open_in.pop(key), t, True)
        else:  # a check-out with no check-in seen: present at that moment
            visits.append(Visit(r["subject"], r["display_name"], r["checkpoint_id"], t, t, True))
    for r in open_in.values():
        close(r, None, False)
    return visits


_COLUMNS = PERSON_CHECKINS


def trace(store: ReadStore, who: str, start: datetime, end: datetime,
          max_stay: timedelta = DEFAULT_MAX_STAY, tz=TZ) -> tuple[list[Visit], list[Contact]]:
    """The person's visits in [start, end) and everyone whose stay overlapped one of them."""
    mine = sorted(subjects_of(store, who))
    marks = ", ".join("?" * len(mine))
    rows = store.query(f"{_COLUMNS} WHERE c.subject IN ({marks}) AND c.scanned_at >= ? AND c.scanned_at < ? "
                       "ORDER BY c.scanned_at", (*mine, store.time_param(start), store.time_param(end)))
    visits = build_visits(rows, max_stay, tz)
    overlaps: dict[tuple[str, str], list] = defaultdict(list)
    names: dict[str, str] = {}
    for v in visits:
        # Others' scans from a maximum stay before this visit to a maximum stay after it: enough
        # to see every stay that could overlap it and the check-out that ends it.
        around = store.query(f"{_COLUMNS} WHERE c.checkpoint_id = ? AND c.scanned_at >= ? "
                             "AND c.scanned_at <= ? ORDER BY c.scanned_at",
                             (v.checkpoint_id, store.time_param(v.start - max_stay),
                              store.time_param(v.end + max_stay)))
        for o in build_visits([r for r in around if r["subject"] not in mine], max_stay, tz):
            lo, hi = max(v.start, o.start), min(v.end, o.end)
            if lo <= hi and (lo < hi or v.start == v.end or o.start == o.end):
                overlaps[(o.subject, o.checkpoint_id)].append((lo, hi))
                names[o.subject] = o.display_name
    contacts = []
    for (subject, cp), spans in overlaps.items():
        spans = sorted(set(spans))
        minutes = sum((hi - lo).total_seconds() for lo, hi in _merge(spans)) / 60
        contacts.append(Contact(subject, names[subject], cp, spans[0][0], max(h for _, h in spans),
                                round(minutes, 1)))
    contacts.sort(key=lambda c: (-c.overlap_minutes, c.first_overlap))
    return visits, contacts


def _merge(spans):
    out = []
    for lo, hi in spans:
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out
