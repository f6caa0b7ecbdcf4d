"""Reports for the district health centre: per checkpoint and day, and per unit ("tổng hợp báo cáo")."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mqtt_bridge.store import Store, as_time

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


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


@dataclass
class UnitReport:
    day: str
    unit: str
    checkpoints: int = 0
    check_ins: int = 0
    check_outs: int = 0
    distinct_people: int = 0
    still_inside: int = 0


def day_bounds(first: date, last: date, tz=TZ) -> tuple[datetime, datetime]:
    return (datetime.combine(first, time(), tz), datetime.combine(last + timedelta(days=1), time(), tz))


def _scans(store: Store, first: date, last: date, checkpoint_id: str | None, tz):
    """(local day, checkpoint, subject, direction, hour) for every scan in the period, in time order."""
    start, end = day_bounds(first, last, tz)
    sql = ("SELECT checkpoint_id, subject, direction, scanned_at FROM checkins "
           "WHERE scanned_at >= ? AND scanned_at < ?")
    args: tuple = (store.time_param(start), store.time_param(end))
    if checkpoint_id:
        sql += " AND checkpoint_id = ?"
        args += (checkpoint_id,)
    for r in store.query(sql + " ORDER BY scanned_at", args):
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


def checkpoint_days(store: Store, first: date, last: date, checkpoint_id: str | None = None,
                    tz=TZ) -> list[DayReport]:
    """One row per checkpoint and local day with any scans in [first, last]."""
    info = {r["checkpoint_id"]: r for r in store.checkpoint_rows()}
    per = _tally(_scans(store, first, last, checkpoint_id, tz), lambda day, cp: (day, cp))
    out = []
    for (day, cp), b in sorted(per.items()):
        hour, scans = max(b["hours"].items(), key=lambda kv: (kv[1], -kv[0]))
        c = info.get(cp, {})
        out.append(DayReport(day, cp, c.get("name", ""), c.get("unit", ""), b["in"], b["out"],
                             len({s for _, s in b["last"]}), f"{hour:02d}:00-{hour + 1:02d}:00", scans,
                             sum(1 for d in b["last"].values() if d == "in")))
    return out


def unit_days(store: Store, first: date, last: date, tz=TZ) -> list[UnitReport]:
    """The district summary: every unit's checkpoints together, per local day."""
    unit_of = {r["checkpoint_id"]: r["unit"] or "(none)" for r in store.checkpoint_rows()}
    per = _tally(_scans(store, first, last, None, tz),
                 lambda day, cp: (day, unit_of.get(cp, "(unregistered)")))
    return [UnitReport(day, unit, len(b["checkpoints"]), b["in"], b["out"], len({s for _, s in b["last"]}),
                       sum(1 for d in b["last"].values() if d == "in"))
            for (day, unit), b in sorted(per.items())]


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
