"""Reports for the district health centre: per checkpoint and day, and per unit ("tổng hợp báo cáo")."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mqtt_bridge.store import PERSON_CHECKINS, Store, as_time

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


MAX_DAYS = 366


class ReportError(ValueError):
    """A report that cannot be made as asked (a period backwards or over a year)."""


@dataclass
class DayReport:
    day: str
    checkpoint_id: str
    checkpoint_name: str
    unit: str
    check_ins: int = 0
    check_outs: int = 0
    distinct_people: int = 0
    busiest_hour: str = ""
    busiest_hour_scans: int = 0
    still_inside: int = 0
    gates: int = 0  # gates enrolled at the checkpoint
    gates_silent: int = 0  # of those, not heard from since the day began: a dead gate, not a quiet door


@dataclass
class UnitReport:
    day: str
    unit: str
    checkpoints: int = 0
    check_ins: int = 0
    check_outs: int = 0
    distinct_people: int = 0
    still_inside: int = 0
    gates: int = 0
    gates_silent: int = 0


def day_bounds(first: date, last: date, tz=TZ) -> tuple[datetime, datetime]:
    return (datetime.combine(first, time(), tz), datetime.combine(last + timedelta(days=1), time(), tz))


def days(first: date, last: date) -> list[str]:
    if last < first:
        raise ReportError("the period ends before it starts")
    if (last - first).days >= MAX_DAYS:
        raise ReportError(f"a report covers at most {MAX_DAYS} days")
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def _scans(store: Store, first: date, last: date, checkpoint_id: str | None, tz):
    """(local day, checkpoint, person, direction, hour) for every scan in the period, in time order;
    a person is their citizen id when their declaration names one (card and QR are one person)."""
    start, end = day_bounds(first, last, tz)
    sql = f"{PERSON_CHECKINS} WHERE c.scanned_at >= ? AND c.scanned_at < ?"
    args: tuple = (store.time_param(start), store.time_param(end))
    if checkpoint_id:
        sql += " AND c.checkpoint_id = ?"
        args += (checkpoint_id,)
    for r in store.query(sql + " ORDER BY c.scanned_at", args):
        t = as_time(r["scanned_at"]).astimezone(tz)
        yield t.date().isoformat(), r["checkpoint_id"], r["subject"], r["direction"], t.hour


def _tally(scans, key):
    per: dict = defaultdict(lambda: {"in": 0, "out": 0, "hours": defaultdict(int), "last": {},
                                     "checkpoints": set()})
    for day, cp, subject, direction, hour in scans:
        b = per[key(day, cp)]
        b[direction] += 1
        b["hours"][hour] += 1
        b["last"][(cp, subject)] = direction  # in time order: the last word wins
        b["checkpoints"].add(cp)
    return per


def _gates(store: Store, day_list: list[str], tz) -> dict[tuple[str, str], tuple[int, int]]:
    """(day, checkpoint) -> (gates enrolled, gates not heard from since that day began)."""
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for d in store.device_rows():
        seen = as_time(d["last_seen"]) if d.get("last_seen") else None
        for day in day_list:
            start = datetime.combine(date.fromisoformat(day), time(), tz)
            b = out[(day, d["checkpoint_id"])]
            b[0] += 1
            b[1] += seen is None or seen < start
    return {k: (v[0], v[1]) for k, v in out.items()}


def checkpoint_days(store: Store, first: date, last: date, checkpoint_id: str | None = None,
                    tz=TZ) -> list[DayReport]:
    """One row per registered checkpoint (or the one asked for) and local day in [first, last],
    with zeros where nobody came."""
    day_list = days(first, last)
    info = {r["checkpoint_id"]: r for r in store.checkpoint_rows()}
    per = _tally(_scans(store, first, last, checkpoint_id, tz), lambda day, cp: (day, cp))
    gates = _gates(store, day_list, tz)
    wanted = [checkpoint_id] if checkpoint_id else sorted(info)
    keys = sorted({(day, cp) for day in day_list for cp in wanted} | set(per))
    out = []
    for day, cp in keys:
        b = per.get((day, cp))
        c = info.get(cp, {})
        row = DayReport(day, cp, c.get("name", ""), c.get("unit", ""))
        row.gates, row.gates_silent = gates.get((day, cp), (0, 0))
        if b:
            hour, scans = max(b["hours"].items(), key=lambda kv: (kv[1], -kv[0]))
            row.check_ins, row.check_outs = b["in"], b["out"]
            row.distinct_people = len({s for _, s in b["last"]})
            row.busiest_hour, row.busiest_hour_scans = f"{hour:02d}:00-{hour + 1:02d}:00", scans
            row.still_inside = sum(1 for d in b["last"].values() if d == "in")
        out.append(row)
    return out


def unit_days(store: Store, first: date, last: date, tz=TZ) -> list[UnitReport]:
    """The district summary: every unit's checkpoints together, per local day, zeros included."""
    day_list = days(first, last)
    unit_of = {r["checkpoint_id"]: r["unit"] or "(none)" for r in store.checkpoint_rows()}
    per = _tally(_scans(store, first, last, None, tz),
                 lambda day, cp: (day, unit_of.get(cp, "(unregistered)")))
    gates = _gates(store, day_list, tz)
    checkpoints_of: dict[str, set] = defaultdict(set)
    for cp, unit in unit_of.items():
        checkpoints_of[unit].add(cp)
    out = []
    for day, unit in sorted({(day, u) for day in day_list for u in checkpoints_of} | set(per)):
        b = per.get((day, unit))
        row = UnitReport(day, unit, len(checkpoints_of.get(unit, ())) or len(b["checkpoints"]))
        g = [gates.get((day, cp), (0, 0)) for cp in checkpoints_of.get(unit, ())]
        row.gates, row.gates_silent = sum(x for x, _ in g), sum(y for _, y in g)
        if b:
            row.check_ins, row.check_outs = b["in"], b["out"]
            row.distinct_people = len({s for _, s in b["last"]})
            row.still_inside = sum(1 for d in b["last"].values() if d == "in")
        out.append(row)
    return out


def render(rows: list, fmt: str) -> str:
    dicts = [asdict(r) for r in rows]
    if fmt == "json":
        return "\n".join(json.dumps(d, ensure_ascii=False) for d in dicts) + ("\n" if dicts else "")
    buf = io.StringIO()
    if dicts:
        w = csv.DictWriter(buf, fieldnames=list(dicts[0]))
        w.writeheader()
        w.writerows(dicts)
    return buf.getvalue()
