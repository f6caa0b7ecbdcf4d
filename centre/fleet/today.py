"""Today's check-ins per checkpoint for the live page, read from the hourly rollup through either
store (the site's, the bridge's): no Django here, so bench/web.py runs the same reads bare."""

from __future__ import annotations

from datetime import date, datetime

from mqtt_bridge.centre_api import ReadStore, as_time


def checkpoint_totals(store: ReadStore, day: date, unit: str | None = None) -> list[tuple[str, str, int, int]]:
    """(checkpoint, name, check-ins, check-outs) of every registered checkpoint with scans on
    `day` (of `unit` only, when given), the busiest first: summed by the database."""
    sql = ("SELECT h.checkpoint_id, c.name, sum(h.ins) AS ins, sum(h.outs) AS outs FROM checkin_hourly h "
           "JOIN checkpoints c ON c.checkpoint_id = h.checkpoint_id WHERE h.day = ?"
           f"{' AND c.unit = ?' if unit is not None else ''} GROUP BY h.checkpoint_id, c.name")
    rows = store.query(sql, (store.day_param(day), *((unit,) if unit is not None else ())))
    out = [(r["checkpoint_id"], r["name"], int(r["ins"]), int(r["outs"])) for r in rows]
    return sorted(out, key=lambda r: (-r[2], r[1], r[0]))


def hours_of(store: ReadStore, day: date, checkpoints: list[str]) -> dict[str, tuple[list[int], datetime]]:
    """Per checkpoint asked for: its check-ins in each hour of `day`, and its last scan."""
    if not checkpoints:
        return {}
    out: dict[str, tuple[list[int], datetime]] = {}
    for r in store.query(f"SELECT checkpoint_id, hour, ins, last_at FROM checkin_hourly WHERE day = ? "
                         f"AND checkpoint_id IN ({', '.join('?' * len(checkpoints))})",
                         (store.day_param(day), *checkpoints)):
        hours, last = out.get(r["checkpoint_id"], ([0] * 24, None))
        hours[r["hour"] % 24] += r["ins"]
        at = as_time(r["last_at"])
        out[r["checkpoint_id"]] = hours, at if last is None or at > last else last
    return out
