"""Reports for the district health centre: per checkpoint and day, and per unit ("tổng hợp báo cáo")."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from common.csvtext import csv_text
from common.errors import UserError
from mqtt_bridge.centre_api import ReadStore, as_time
from protocol.event import LOCAL_TIME_ZONE

TZ = ZoneInfo(LOCAL_TIME_ZONE)


MAX_DAYS = 366
# The days a report or a trace may name: a period's bounds, a trace's stays around them and a day
# after the last are times Python holds (9999-12-31 and 0001-01-01 overflowed: a traceback).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


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


# Every figure from the rollups every insert keeps (mqtt_bridge.schema), one query on either
# database: a district's day is hundreds of thousands of scans, never counted again per request.
# Per day and key (a checkpoint, or a unit): check-ins, check-outs, checkpoints with scans, the
# busiest hour (the earlier of equals) and its scans, distinct people, people still inside (their
# last scan at a checkpoint that day was a check-in). A checkpoint's people are its row of
# checkin_daily; a unit's are counted from checkin_people, where one person seen at two of its
# checkpoints is one person.
_SQL_TALLY = """
WITH h AS (SELECT x.day, {key} AS k, x.checkpoint_id AS cp, x.hour, x.ins, x.outs FROM checkin_hourly x
           LEFT JOIN checkpoints p ON p.checkpoint_id = x.checkpoint_id WHERE x.day >= ? AND x.day <= ? {only}),
per AS (SELECT day, k, sum(ins) AS ins, sum(outs) AS outs, count(DISTINCT cp) AS cps FROM h GROUP BY day, k),
hours AS (SELECT day, k, hour, sum(ins + outs) AS n FROM h GROUP BY day, k, hour),
busy AS (SELECT day, k, hour AS h, n FROM (SELECT day, k, hour, n, row_number() OVER (PARTITION BY day, k
         ORDER BY n DESC, hour) AS r FROM hours) y WHERE r = 1),
pp AS ({people})
SELECT per.day, per.k, per.ins, per.outs, pp.people, per.cps, busy.h, busy.n, pp.inside
FROM per JOIN busy ON busy.day = per.day AND busy.k = per.k JOIN pp ON pp.day = per.day AND pp.k = per.k
"""
_CHECKPOINT_PEOPLE = ("SELECT x.day, x.checkpoint_id AS k, x.people, x.inside FROM checkin_daily x "
                      "WHERE x.day >= ? AND x.day <= ? {only}")
_UNIT_KEY = "CASE WHEN p.checkpoint_id IS NULL THEN '(unregistered)' ELSE coalesce(nullif(p.unit, ''), '(none)') END"
_UNIT_PEOPLE = (f"SELECT x.day, {_UNIT_KEY} AS k, count(DISTINCT x.person) AS people, "
                "sum(CASE WHEN x.last_direction = 'in' THEN 1 ELSE 0 END) AS inside FROM checkin_people x "
                "LEFT JOIN checkpoints p ON p.checkpoint_id = x.checkpoint_id WHERE x.day >= ? AND x.day <= ? {only} "
                f"GROUP BY x.day, {_UNIT_KEY}")


def _tallies(store: ReadStore, first: date, last: date, checkpoint_id: str | None, by_unit: bool) -> dict:
    """(local day, checkpoint or unit) -> the day's figures."""
    only = "AND x.checkpoint_id = ?" if checkpoint_id else ""
    sql = _SQL_TALLY.format(key=_UNIT_KEY if by_unit else "x.checkpoint_id",
                            people=(_UNIT_PEOPLE if by_unit else _CHECKPOINT_PEOPLE).format(only=only), only=only)
    period: tuple = (store.day_param(first), store.day_param(last), *((checkpoint_id,) if checkpoint_id else ()))
    return {(str(r["day"])[:10], r["k"]): {"in": int(r["ins"]), "out": int(r["outs"]), "people": int(r["people"]),
                                          "inside": int(r["inside"]), "hour": int(r["h"]), "hour_scans": int(r["n"]),
                                          "checkpoints": int(r["cps"])} for r in store.query(sql, period + period)}


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
    per = _tallies(store, first, last, checkpoint_id, False)
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
    per = _tallies(store, first, last, None, True)
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
