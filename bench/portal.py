"""A morning rush at a market's door, on the portal through gunicorn and PostgreSQL: phones signed in
with their SMS code scan the poster (the checkpoint's page) and tap "Check in"; one operation in
twenty is a new phone signing in with its code instead. One JSON line.

In the same run, on the same server:
- the floor: as many signed-in requests to /accounts/ping/ (the session and its user, nothing
  else) as the same number of clients get through in the same time, as `floor_per_s`;
- saturation: check-ins a second with the clients never waiting (`checkins_per_s`; each check-in
  is two requests, the page and the tap, so `checkin_vs_floor` compares a check-in with one
  floor request), and every request of the rush answered a second, pages, taps and sign-ins
  alike (`requests_per_s`, `requests_vs_floor`: one request of the rush against one of the floor);
- the rush at 80% of saturation, arrivals on a fixed schedule however the server keeps up: each
  check-in's time from its scheduled arrival to its confirmation (`p50_ms`, `p95_ms`), so queueing
  counts;
- every confirmation shown is a row: `rows_expected` (confirmations) against `rows_stored`.

    .venv/bin/python bench/portal.py [--phones 300] [--clients 16] [--seconds 15] [--workers 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import re
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import serve_site, temp_schema  # noqa: E402
from mqtt_bridge.locate import migrate_database  # noqa: E402

CHECKPOINT = "CP-CHO-01"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PERSON = re.compile(r'name="declaration_id" value="([^"]+)"><input type="hidden" name="event_id" value="([^"]+)"')


class Phone:
    """One phone's cookies over plain HTTP/1.1 requests (one connection each, as gunicorn's sync
    workers close them). `answered` counts the requests answered, every phone's together."""

    answered = 0
    _count = threading.Lock()

    def __init__(self, port: int, number: str):
        self.port, self.number, self.cookies = port, number, {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                   "Referer": f"http://127.0.0.1:{self.port}{path}", "Host": f"127.0.0.1:{self.port}"}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            text = r.read().decode("utf-8", "replace")
            with Phone._count:
                Phone.answered += 1
            for k, v in r.getheaders():
                if k.lower() == "set-cookie":
                    name, _, value = v.split(";", 1)[0].partition("=")
                    self.cookies[name.strip()] = value.strip()
            return r.status, r.getheader("Location") or "", text
        finally:
            conn.close()

    def post(self, path: str, form: dict) -> tuple[int, str, str]:
        status, _, page = self.request("GET", path)
        token = TOKEN.search(page)
        if status != 200 or token is None:
            return status, "", page
        return self.request("POST", path, {**form, "csrfmiddlewaretoken": token.group(1)})

    def sign_in(self, sms_file: Path) -> str | None:
        """The number, then the code the SMS brought: "sign-in" once "Tờ khai của tôi" opens."""
        status, location, _ = self.post("/khai-bao/dang-nhap/", {"phone": self.number})
        if status != 302 or "/khai-bao/xac-nhan/" not in location:
            return None
        status, location, _ = self.post("/khai-bao/xac-nhan/", {"code": last_code(sms_file, self.number)})
        return "sign-in" if status == 302 and location.endswith("/khai-bao/cua-toi/") else None

    def check_in(self) -> str | None:
        """The poster's page, then the tap: "check-in" once the confirmation is shown."""
        status, _, page = self.request("GET", f"/c/{CHECKPOINT}/")
        token, person = TOKEN.search(page), PERSON.search(page)
        if status != 200 or token is None or person is None:
            return None
        status, _, page = self.request("POST", f"/c/{CHECKPOINT}/", {
            "csrfmiddlewaretoken": token.group(1), "declaration_id": person.group(1), "event_id": person.group(2),
            "direction": "in"})
        return "check-in" if status == 200 and 'id="confirmation"' in page else None

    def ping(self) -> str | None:
        return "ping" if self.request("GET", "/accounts/ping/")[0] == 200 else None


_SMS_LOCK = threading.Lock()


def last_code(sms_file: Path, phone: str) -> str:
    """The code the file SMS backend last sent to `phone` (a line being written is skipped)."""
    with _SMS_LOCK:
        lines = sms_file.read_text(encoding="utf-8").splitlines()
    sent = []
    for line in lines:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("to") == phone:
            sent.append(message["text"])
    found = re.search(r"\b(\d{6})\b", sent[-1]) if sent else None
    if found is None:
        raise LookupError(f"no code sent to {phone}")
    return found.group(1)


def closed_loop(clients: int, seconds: float, work) -> tuple[Counter, list[float]]:
    """`clients` threads doing `work(i)` back to back for `seconds`: what each operation ended as
    (its label, or "error"), and their times."""
    ends: Counter = Counter()
    times: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def run(k: int) -> None:
        i = k
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            end = _attempt(work, i)
            with lock:
                times.append(time.perf_counter() - t0)
                ends[end] += 1
            i += clients

    _run_threads([threading.Thread(target=run, args=(k,)) for k in range(clients)], seconds)
    return ends, times


def open_loop(rate: float, seconds: float, clients: int, work) -> tuple[Counter, list[tuple[str, float]]]:
    """Arrivals every 1/rate s for `seconds`, served by `clients` threads: each operation's time is
    counted from its scheduled arrival, so time spent waiting for a free client counts too."""
    jobs: queue.Queue = queue.Queue()
    ends: Counter = Counter()
    times: list[tuple[str, float]] = []
    lock = threading.Lock()

    def run() -> None:
        while (job := jobs.get()) is not None:
            i, due = job
            end = _attempt(work, i)
            with lock:
                times.append((end, time.perf_counter() - due))
                ends[end] += 1

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        due = start + i / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        jobs.put((i, due))
    for _ in threads:
        jobs.put(None)
    _run_threads(threads, seconds, started=True)
    return ends, times


def _attempt(work, i: int) -> str:
    try:
        return work(i) or "error"
    except (OSError, LookupError):  # a refused connection, a timeout, a code that never came
        return "error"


def _run_threads(threads: list[threading.Thread], seconds: float, started: bool = False) -> None:
    for t in threads if not started else ():
        t.start()
    for t in threads:
        t.join(seconds + 120)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(1000 * xs[min(len(xs) - 1, int(q * len(xs)))], 1) if xs else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phones", type=int, default=300, help="phones signed in before the rush")
    ap.add_argument("--clients", type=int, default=16, help="requests in flight at once")
    ap.add_argument("--seconds", type=float, default=15, help="length of each phase")
    ap.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    args = ap.parse_args()
    with temp_schema("vhd_portal") as url, tempfile.TemporaryDirectory() as home:
        migrate_database(url)
        import psycopg

        now = datetime.now(UTC)
        phones = [f"09{n:08d}" for n in range(12_000_000, 12_000_000 + args.phones)]
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("INSERT INTO checkpoints (checkpoint_id, name, unit) VALUES (%s, 'Chợ Phường', 'Chợ Phường')",
                       (CHECKPOINT,))
            with db.cursor() as cur:
                cur.executemany("INSERT INTO declarations (declaration_id, full_name, birth_year, sex, phone, "
                                "owner_phone, declared_at, expires_at) VALUES (%s, 'Người Đi Chợ', 1980, 'F', %s, %s, "
                                "%s, %s)", [(f"VHD-BENCH-{p}", p, p, now, now + timedelta(days=14)) for p in phones])
        sms = Path(home, "sms.jsonl")
        env = {**os.environ, "VHD_CENTRE_HOME": home, "VHD_SMS_BACKEND": "file", "VHD_SMS_FILE": str(sms),
               "VHD_SMS_MAX_PER_ADDRESS": "1000000", "VHD_CENTRE_LOGIN_MAX_PER_ADDRESS": "1000000"}
        server, port = serve_site(url, env, args.workers)
        try:
            signed = [Phone(port, p) for p in phones]
            with ThreadPoolExecutor(min(args.clients, 8)) as pool:  # before the rush, not timed
                ready = sum(1 for end in pool.map(lambda p: p.sign_in(sms), signed) if end)
            if ready != len(signed):
                raise SystemExit(f"bench/portal.py: {ready} of {len(signed)} phones signed in")
            newcomers = iter([Phone(port, f"09{n:08d}") for n in range(13_000_000, 13_020_000)])
            new_lock = threading.Lock()

            def rush(i: int) -> str | None:
                if i % 20 == 19:  # a phone not yet signed in: its number and its SMS code
                    with new_lock:
                        phone = next(newcomers)
                    return phone.sign_in(sms)
                return signed[(i * 7919) % len(signed)].check_in()

            floor, _ = closed_loop(args.clients, args.seconds, lambda i: signed[i % len(signed)].ping())
            before = Phone.answered
            saturated, _ = closed_loop(args.clients, args.seconds, rush)
            rush_requests = Phone.answered - before
            rate = 0.8 * (saturated["check-in"] + saturated["sign-in"]) / args.seconds
            at_rate, times = open_loop(rate, args.seconds, args.clients * 2, rush)
        finally:
            server.terminate()
            server.wait(30)
        with psycopg.connect(url) as db:
            stored = db.execute("SELECT count(*) FROM checkins WHERE checkpoint_id = %s", (CHECKPOINT,)).fetchone()[0]
    checkin_times = [t for end, t in times if end == "check-in"]
    floor_per_s = floor["ping"] / args.seconds
    checkins_per_s = saturated["check-in"] / args.seconds
    result = {"benchmark": "portal", "phones": args.phones, "clients": args.clients, "seconds": args.seconds,
              "workers": args.workers, "floor_per_s": round(floor_per_s, 1), "checkins_per_s": round(checkins_per_s, 1),
              "sign_ins_per_s": round(saturated["sign-in"] / args.seconds, 1),
              "checkin_vs_floor": round(checkins_per_s / max(floor_per_s, 0.1), 2),
              "requests_per_s": round(rush_requests / args.seconds, 1),
              "requests_vs_floor": round(rush_requests / args.seconds / max(floor_per_s, 0.1), 2),
              "offered_per_s": round(rate, 1), "p50_ms": pct(checkin_times, 0.5),
              "p95_ms": pct(checkin_times, 0.95),
              "errors": floor["error"] + saturated["error"] + at_rate["error"],
              "rows_expected": saturated["check-in"] + at_rate["check-in"], "rows_stored": stored,
              "target": {"checkin_vs_floor": 0.6, "p95_ms": 200, "errors": 0}}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
