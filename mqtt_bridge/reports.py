"""Reports for the district health centre: per checkpoint and day, and per unit ("tổng hợp báo cáo")."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from common.csvtext import csv_text
from common.errors import UserError
from mqtt_bridge.schema import ROLLUP_TZ
from mqtt_bridge.store import PERSON_CHECKINS, ReadStore, as_time
from protocol.event import LOCAL_TIME_ZONE

TZ = ZoneInfo(LOCAL_TIME_ZONE)


MAX_DAYS = 366


class ReportError(UserError, ValueError):
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


def _scans(store: ReadStore, first: date, last: date, checkpoint_id: str | None, tz):
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
WITH h AS (SELECT x.day, {key} AS k, x.checkpoint_id AS cp, x.hour, x.ins, x.outs FROM checkin_hourly x
           LEFT JOIN checkpoints p ON p.checkpoint_id = x.checkpoint_id
           WHERE x.day >= %(first)s AND x.day <= %(last)s {only}),
per AS (SELECT day, k, sum(ins) AS ins, sum(outs) AS outs, count(DISTINCT cp) AS cps FROM h GROUP BY day, k),
busy AS (SELECT DISTINCT ON (day, k) day, k, hour AS h, n
         FROM (SELECT day, k, hour, sum(ins + outs) AS n FROM h GROUP BY day, k, hour) y
         ORDER BY day, k, n DESC, hour),
pp AS (SELECT x.day, {key} AS k, count(DISTINCT x.person) AS people,
              count(*) FILTER (WHERE x.last_direction = 'in') AS inside FROM checkin_people x
       LEFT JOIN checkpoints p ON p.checkpoint_id = x.checkpoint_id
       WHERE x.day >= %(first)s AND x.day <= %(last)s {only} GROUP BY 1, 2)
SELECT per.day, per.k, per.ins, per.outs, pp.people, per.cps, busy.h, busy.n, pp.inside
FROM per JOIN busy USING (day, k) JOIN pp USING (day, k)
"""


def _tally_in_database(store: ReadStore, first: date, last: date, checkpoint_id: str | None, by_unit: bool,
                       tz) -> dict:
    """The same figures as _tally, from PostgreSQL's rollups (kept by every insert): a district's
    day is hundreds of thousands of scans, which need not be counted again at every request."""
    key = ("CASE WHEN p.checkpoint_id IS NULL THEN '(unregistered)' ELSE coalesce(nullif(p.unit, ''), '(none)') END"
           if by_unit else "x.checkpoint_id")
    sql = _SQL_TALLY.format(key=key, only="AND x.checkpoint_id = %(cp)s" if checkpoint_id else "")
    rows = store.query_named(sql, {"first": first, "last": last, "cp": checkpoint_id})
    return {(r["day"].isoformat(), r["k"]): {"in": r["ins"], "out": r["outs"], "people": r["people"],
                                             "inside": r["inside"], "hour": r["h"], "hour_scans": r["n"],
                                             "checkpoints": r["cps"]} for r in rows}


def _tallies(store: ReadStore, first: date, last: date, checkpoint_id: str | None, by_unit: bool, tz,
             unit_of: dict[str, str] | None = None) -> dict:
    if store.dialect == "postgresql" and str(tz) == ROLLUP_TZ:
        return _tally_in_database(store, first, last, checkpoint_id, by_unit, tz)
    key = (lambda day, cp: (day, (unit_of or {}).get(cp, "(unregistered)"))) if by_unit else (lambda day, cp: (day, cp))
    return _tally(_scans(store, first, last, checkpoint_id, tz), key)


def _gates(store: ReadStore, day_list: list[str], tz) -> dict[tuple[str, str], tuple[int, int]]:
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


def checkpoint_days(store: ReadStore, first: date, last: date, checkpoint_id: str | None = None,
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


def unit_days(store: ReadStore, first: date, last: date, tz=TZ) -> list[UnitReport]:
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
    if not dicts:
        return ""
    return csv_text(list(dicts[0]), [list(d.values()) for d in dicts])
