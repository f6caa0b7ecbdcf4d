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


def _tally(scans, key) -> dict:
    """Per key: check-ins, check-outs, distinct people, people still inside (their last scan at
    a checkpoint was a check-in), the busiest hour and its scans, checkpoints with scans."""
    per: dict = defaultdict(lambda: {"in": 0, "out": 0, "hours": defaultdict(int), "last": {},
                                     "checkpoints": set()})
    for day, cp, subject, direction, hour in scans:
        b = per[key(day, cp)]
        b[direction] += 1
        b["hours"][hour] += 1
        b["last"][(cp, subject)] = direction  # in time order: the last word wins
        b["checkpoints"].add(cp)
    out = {}
    for k, b in per.items():
        hour, n = max(b["hours"].items(), key=lambda kv: (kv[1], -kv[0]))
        out[k] = {"in": b["in"], "out": b["out"], "people": len({s for _, s in b["last"]}),
                  "inside": sum(1 for d in b["last"].values() if d == "in"), "hour": hour, "hour_scans": n,
                  "checkpoints": len(b["checkpoints"])}
    return out


_SQL_TALLY = """
WITH s AS (
  SELECT (c.scanned_at AT TIME ZONE %(tz)s)::date AS day,
         extract(hour FROM c.scanned_at AT TIME ZONE %(tz)s)::int AS h, {key} AS k, c.checkpoint_id AS cp,
         coalesce(d.citizen_id, c.subject) AS person, c.direction, c.scanned_at, c.event_id
  FROM checkins c
  LEFT JOIN declarations d ON c.kind = 'vhd' AND d.declaration_id = c.subject
  LEFT JOIN checkpoints p ON p.checkpoint_id = c.checkpoint_id
  WHERE c.scanned_at >= %(start)s AND c.scanned_at < %(end)s {only}),
per AS (SELECT day, k, count(*) FILTER (WHERE direction = 'in') AS ins,
               count(*) FILTER (WHERE direction = 'out') AS outs,
               count(DISTINCT person) AS people, count(DISTINCT cp) AS cps FROM s GROUP BY day, k),
busy AS (SELECT DISTINCT ON (day, k) day, k, h, n
         FROM (SELECT day, k, h, count(*) AS n FROM s GROUP BY day, k, h) x ORDER BY day, k, n DESC, h),
last AS (SELECT day, k, count(*) FILTER (WHERE direction = 'in') AS inside
         FROM (SELECT DISTINCT ON (day, k, cp, person) day, k, cp, person, direction FROM s
               ORDER BY day, k, cp, person, scanned_at DESC, event_id DESC) y GROUP BY day, k)
SELECT per.day, per.k, ins, outs, people, cps, busy.h, busy.n, last.inside
FROM per JOIN busy USING (day, k) JOIN last USING (day, k)
"""


def _tally_in_database(store: Store, first: date, last: date, checkpoint_id: str | None, by_unit: bool,
                       tz) -> dict:
    """The same figures as _tally, counted by PostgreSQL: a district's day is hundreds of
    thousands of scans, which need not travel to Python."""
    start, end = day_bounds(first, last, tz)
    key = ("CASE WHEN p.checkpoint_id IS NULL THEN '(unregistered)' ELSE coalesce(nullif(p.unit, ''), '(none)') END"
           if by_unit else "c.checkpoint_id")
    sql = _SQL_TALLY.format(key=key, only="AND c.checkpoint_id = %(cp)s" if checkpoint_id else "")
    rows = store.query_named(sql, {"tz": str(tz), "start": start, "end": end, "cp": checkpoint_id})
    return {(r["day"].isoformat(), r["k"]): {"in": r["ins"], "out": r["outs"], "people": r["people"],
                                             "inside": r["inside"], "hour": r["h"], "hour_scans": r["n"],
                                             "checkpoints": r["cps"]} for r in rows}


def _tallies(store: Store, first: date, last: date, checkpoint_id: str | None, by_unit: bool, tz,
             unit_of: dict[str, str] | None = None) -> dict:
    if store.dialect == "postgresql":
        return _tally_in_database(store, first, last, checkpoint_id, by_unit, tz)
    key = (lambda day, cp: (day, (unit_of or {}).get(cp, "(unregistered)"))) if by_unit else (lambda day, cp: (day, cp))
    return _tally(_scans(store, first, last, checkpoint_id, tz), key)


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
    per = _tallies(store, first, last, checkpoint_id, False, tz)
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
            row.check_ins, row.check_outs, row.distinct_people = b["in"], b["out"], b["people"]
            row.busiest_hour = f"{b['hour']:02d}:00-{b['hour'] + 1:02d}:00"
            row.busiest_hour_scans, row.still_inside = b["hour_scans"], b["inside"]
        out.append(row)
    return out


def unit_days(store: Store, first: date, last: date, tz=TZ) -> list[UnitReport]:
    """The district summary: every unit's checkpoints together, per local day, zeros included."""
    day_list = days(first, last)
    unit_of = {r["checkpoint_id"]: r["unit"] or "(none)" for r in store.checkpoint_rows()}
    per = _tallies(store, first, last, None, True, tz, unit_of)
    gates = _gates(store, day_list, tz)
    checkpoints_of: dict[str, set] = defaultdict(set)
    for cp, unit in unit_of.items():
        checkpoints_of[unit].add(cp)
    out = []
    for day, unit in sorted({(day, u) for day in day_list for u in checkpoints_of} | set(per)):
        b = per.get((day, unit))
        row = UnitReport(day, unit, len(checkpoints_of.get(unit, ())) or (b["checkpoints"] if b else 0))
        g = [gates.get((day, cp), (0, 0)) for cp in checkpoints_of.get(unit, ())]
        row.gates, row.gates_silent = sum(x for x, _ in g), sum(y for _, y in g)
        if b:
            row.check_ins, row.check_outs = b["in"], b["out"]
            row.distinct_people, row.still_inside = b["people"], b["inside"]
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
