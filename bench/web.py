"""The centre's web site on 10 million check-ins: response times of the live page, a day's report
and a trace through gunicorn with a real HTTP client, beside the same queries run bare through
psycopg in the same run. One JSON line.

Fills a fresh schema (21 days ending now, 500 checkpoints, 200,000 people) with generate_series,
migrates the site's tables, starts `vhd-centre serve` (3 workers) and signs in as a district
administrator. The floor, in the same run on the same server, is /accounts/ping/: a signed-in
request that reads its session and user and does nothing else. Target: each page's p95 under 300 ms
and within 1.5x of its bare query's p95 plus the floor's (`p95_vs_floor`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import fill_checkins, serve_site, temp_schema  # noqa: E402
from centre.fleet import LIVE_PER_PAGE  # noqa: E402
from centre.fleet.today import checkpoint_totals, hours_of  # noqa: E402
from centre.reports.figures import TZ, checkpoint_days  # noqa: E402
from centre.reports.tracing import trace  # noqa: E402
from mqtt_bridge.locate import migrate_database  # noqa: E402
from mqtt_bridge.store import open_store  # noqa: E402

PASSWORD = "mat-khau-do-tai-2021"


def fill(store, rows: int, days: int, people: int, checkpoints: int) -> tuple[float, datetime]:
    t0 = time.perf_counter()
    end = datetime.now(UTC)
    with store.conn.transaction():
        store.conn.execute("INSERT INTO checkpoints (checkpoint_id, name, unit) SELECT 'CP-' || g, 'Điểm ' || g, "
                           "'Phường ' || mod(g, 20) FROM generate_series(0, %s - 1) AS g", (checkpoints,))
    fill_checkins(store, end - timedelta(days=days), rows, days, people, checkpoints)
    store.rebuild_rollups()  # loaded around the bridge: count the rollups its inserts would keep
    return time.perf_counter() - t0, end


class Client:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=120) as r:
            return r.read().decode()

    def token(self, path: str) -> str:
        self.csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', self.get(path)).group(1)
        return self.csrf

    def post(self, path: str, data: dict) -> str:
        token = getattr(self, "csrf", None) or self.token(path)
        req = urllib.request.Request(self.base + path, headers={"Referer": self.base + path},
                                     data=urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}).encode())
        with self.opener.open(req, timeout=120) as r:
            return r.read().decode()


def live_queries(store, day) -> dict:
    """The live page's own reads, bare: every checkpoint's totals today, and the hours of the
    busiest page of them."""
    totals = checkpoint_totals(store, day)
    return hours_of(store, day, [k for k, _, _, _ in totals[:LIVE_PER_PAGE]])


def once(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def summary(xs: list[float]) -> dict:
    xs = sorted(xs)
    return {"p50_ms": round(1000 * statistics.median(xs), 1),
            "p95_ms": round(1000 * xs[min(len(xs) - 1, int(0.95 * len(xs)))], 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--people", type=int, default=200_000)
    ap.add_argument("--checkpoints", type=int, default=500)
    ap.add_argument("--days", type=int, default=21)
    ap.add_argument("--requests", type=int, default=60, help="of each page, its bare query and the floor")
    ap.add_argument("--keep", action="store_true", help="keep the filled schema and print its URL on stderr")
    ap.add_argument("--db", help="measure on a schema a --keep run filled, instead of filling one")
    args = ap.parse_args()
    with nullcontext(args.db) if args.db else temp_schema("vhd_web", keep=args.keep) as url, \
            tempfile.TemporaryDirectory() as home:
        if args.db:
            store = open_store(url)
            fill_s, end = 0.0, store.conn.execute("SELECT max(scanned_at) FROM checkins").fetchone()[0]
        else:
            migrate_database(url)
            store = open_store(url)
            fill_s, end = fill(store, args.rows, args.days, args.people, args.checkpoints)
        if args.keep:
            print(f"bench/web.py: the filled schema stays at {url}", file=sys.stderr)
        env = {**os.environ, "VHD_CENTRE_HOME": home, "VHD_CENTRE_LOGIN_MAX_PER_ADDRESS": "1000"}
        centre = [sys.executable, "-m", "centre.cli", "--db", url]
        subprocess.run([*centre, "migrate"], env=env, check=True, capture_output=True, cwd=ROOT)
        Path(home, "pw").write_text(PASSWORD)
        user = f"bench-{secrets.token_hex(3)}"  # a schema measured again has the earlier runs' users
        subprocess.run([*centre, "createuser", user, "--role", "district_admin", "--password-file",
                        str(Path(home, "pw"))], env=env, check=True, capture_output=True, cwd=ROOT)
        server, port = serve_site(url, env, workers=3)
        try:
            client = Client(f"http://127.0.0.1:{port}")
            client.post("/accounts/login/", {"username": user, "password": PASSWORD})
            client.token("/trace/")  # the signed-in session's token, fetched once, outside the timings
            today = end.astimezone(TZ).date()
            day = today - timedelta(days=1)
            people = [f"VHD-{(k * 7717) % args.people}" for k in range(args.requests)]
            client.get("/live/cards/")  # warm each path once: connections, plans
            client.get("/accounts/ping/")
            start = datetime.combine(today, datetime.min.time(), TZ)
            work = {  # (through the site, the same reads bare through psycopg)
                "live": (lambda i: client.get("/live/cards/"), lambda i: live_queries(store, today)),
                "report_day": (lambda i: client.get(f"/reports/?date_from={day}&date_to={day}"),
                               lambda i: checkpoint_days(store, day, day)),
                "trace": (lambda i: client.post("/trace/", {
                    "person": people[i], "date_from": str(day - timedelta(days=2)), "date_to": str(day),
                    "max_stay_hours": "4", "reason": "đo hiệu năng"}),
                          lambda i: trace(store, people[i], start - timedelta(days=3), start)),
            }
            # Interleaved, one of each in turn: a machine that slows down for a while slows the
            # page, its bare query and the floor alike. Which of the page and its bare query goes
            # first alternates: the second reads the same person's rows from a warm cache.
            floor: list[float] = []
            web: dict[str, list[float]] = {name: [] for name in work}
            bare: dict[str, list[float]] = {name: [] for name in work}
            for i in range(args.requests):
                floor.append(once(client.get, "/accounts/ping/"))
                for name, (page, query) in work.items():
                    turns = ((web[name], page), (bare[name], query))
                    for times, run in turns[::-1] if i % 2 else turns:
                        times.append(once(run, i))
            store.conn.rollback()
        finally:
            server.terminate()
            server.wait(30)
        total = store.count_checkins()
        store.close()
    result = {"benchmark": "web", "checkins": total, "fill_seconds": round(fill_s, 1),
              "requests_each": args.requests}
    result["floor"] = summary(floor)  # a signed-in request that does nothing: gunicorn, Django, the session
    for name in web:
        w, b = summary(web[name]), summary(bare[name])
        result[name] = {"web": w, "bare_psycopg": b, "p95_ratio": round(w["p95_ms"] / max(b["p95_ms"], 0.1), 2),
                        "p95_vs_floor": round(w["p95_ms"] / max(b["p95_ms"] + result["floor"]["p95_ms"], 0.1), 2)}
    result["target"] = {"p95_ms": 300, "p95_vs_floor": 1.5}
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
