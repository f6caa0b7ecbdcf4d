"""The centre's web dashboard (fleet, live check-ins, checkpoints and posters) and /metrics."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import io
import json
import logging
import os
import secrets
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

from mqtt_bridge.metrics import render_metrics
from mqtt_bridge.store import Store, StoreError, as_time

logger = logging.getLogger(__name__)
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SESSION_SECONDS = 8 * 3600
ITERATIONS = 200_000


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, ITERATIONS)
    return f"pbkdf2_sha256${ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _, iterations, salt, digest = stored.split("$")
        mine = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(base64.b64encode(mine).decode(), digest)


def add_user(users_file: Path, name: str, password: str) -> None:
    users = json.loads(users_file.read_text()) if users_file.exists() else {}
    users[name] = hash_password(password)
    tmp = users_file.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(users, fh, indent=1)
    tmp.replace(users_file)


CSS = """
body{font-family:'DejaVu Sans',sans-serif;margin:0;background:#f4f6f5;color:#1d2b24}
header{background:#006e46;color:#fff;padding:12px 24px;display:flex;gap:24px;align-items:center}
header a{color:#fff;text-decoration:none}header h1{font-size:20px;margin:0 24px 0 0}
main{padding:16px 24px}section{background:#fff;border-radius:6px;padding:12px 16px;margin-bottom:16px;
box-shadow:0 1px 2px #0002}h2{font-size:17px;margin:4px 0 12px}table{border-collapse:collapse;width:100%}
td,th{padding:5px 8px;border-bottom:1px solid #e3e8e5;text-align:left;font-size:14px}
.on{color:#05803f;font-weight:bold}.off{color:#b3261e;font-weight:bold}.warn{color:#9a6700}
.cards{display:flex;gap:16px;flex-wrap:wrap}.card{flex:1 1 260px;border:1px solid #e3e8e5;border-radius:6px;padding:8px}
.big{font-size:26px;font-weight:bold}form.login{max-width:320px;margin:80px auto;background:#fff;padding:24px;
border-radius:6px}input{width:100%;padding:8px;margin:6px 0 12px;box-sizing:border-box}button{padding:8px 16px}
.err{color:#b3261e}
"""

LIVE_JS = """
async function refresh(){
  const r = await fetch('/api/live'); if(!r.ok) return;
  const d = await r.json();
  document.getElementById('fleet').innerHTML = d.fleet_html;
  document.getElementById('live').innerHTML = d.live_html;
  document.getElementById('updated').textContent = d.updated;
}
setInterval(refresh, 5000);
"""


def _esc(v) -> str:
    return html.escape("" if v is None else str(v))


def _ago(t) -> str:
    if t is None:
        return "—"
    secs = (datetime.now(UTC) - as_time(t)).total_seconds()
    if secs < 90:
        return f"{secs:.0f} s"
    if secs < 5400:
        return f"{secs / 60:.0f} min"
    return f"{secs / 3600:.1f} h"


def fleet_html(devices: list[dict]) -> str:
    rows = []
    for d in devices:
        online = bool(d.get("online"))
        sync = d.get("time_synced")
        rows.append(
            f"<tr><td>{_esc(d['device_id'])}</td><td>{_esc(d['checkpoint_id'])}</td>"
            f"<td class={'on' if online else 'off'}>{'online' if online else 'offline'}</td>"
            f"<td>{_ago(d.get('last_seen'))}</td><td>{_esc(d.get('queue_depth'))}</td>"
            f"<td class={'' if sync else 'warn'}>{'yes' if sync else ('no' if sync is not None else '—')}</td>"
            f"<td>{_esc(d.get('firmware'))}</td></tr>")
    return ("<table><tr><th>Gate</th><th>Checkpoint</th><th>State</th><th>Last seen</th>"
            "<th>Queued</th><th>Clock synced</th><th>Firmware</th></tr>" + "".join(rows) + "</table>")


def chart_svg(per_hour: list[int], width: int = 260, height: int = 70) -> str:
    top = max(per_hour) or 1
    bw = width / 24
    bars = "".join(
        f'<rect x="{i * bw + 1:.1f}" y="{height - 12 - v / top * (height - 16):.1f}" width="{bw - 2:.1f}" '
        f'height="{v / top * (height - 16):.1f}" fill="#006e46"><title>{i:02d}:00 {v}</title></rect>'
        for i, v in enumerate(per_hour))
    labels = "".join(f'<text x="{i * bw:.0f}" y="{height}" font-size="9">{i}</text>' for i in (0, 6, 12, 18))
    return f'<svg width="{width}" height="{height}" role="img" aria-label="check-ins per hour">{bars}{labels}</svg>'


class Dashboard:
    """Queries for the pages; one store connection, used under a lock."""

    def __init__(self, store: Store, bridge=None):
        self.store = store
        self.bridge = bridge
        self.lock = threading.Lock()

    def devices(self) -> list[dict]:
        with self.lock:
            return self.store.device_rows()

    def checkpoints(self) -> list[dict]:
        with self.lock:
            return self.store.checkpoint_rows()

    def today(self) -> dict[str, dict]:
        start = datetime.now(TZ).replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + timedelta(days=1)  # bounded on both sides: a row dated 9999 is not today's
        with self.lock:
            rows = self.store.query("SELECT checkpoint_id, direction, scanned_at, subject FROM checkins "
                                    "WHERE scanned_at >= ? AND scanned_at < ? ORDER BY scanned_at",
                                    (self.store.time_param(start), self.store.time_param(end)))
        per: dict = defaultdict(lambda: {"in": 0, "out": 0, "hours": [0] * 24, "last": {}, "latest": None})
        for r in rows:
            b = per[r["checkpoint_id"]]
            t = as_time(r["scanned_at"]).astimezone(TZ)
            b[r["direction"]] += 1
            b["hours"][t.hour] += r["direction"] == "in"
            b["last"][r["subject"]] = r["direction"]
            b["latest"] = t
        return per

    def live_html(self) -> str:
        names = {c["checkpoint_id"]: c["name"] for c in self.checkpoints()}
        cards = []
        for cp, b in sorted(self.today().items()):
            inside = sum(1 for d in b["last"].values() if d == "in")
            latest = b["latest"].strftime("%H:%M:%S") if b["latest"] else "—"
            cards.append(f"<div class=card><b>{_esc(names.get(cp, cp))}</b> <small>{_esc(cp)}</small>"
                         f"<div><span class=big>{b['in']}</span> check-in · {b['out']} check-out · "
                         f"{inside} inside · last {latest}</div>{chart_svg(b['hours'])}</div>")
        return "<div class=cards>" + ("".join(cards) or "<p>No check-ins today yet.</p>") + "</div>"

    def metrics(self) -> str:
        online = sum(1 for d in self.devices() if d.get("online"))
        return render_metrics(self.bridge, online)


def page(title: str, body: str, user: str | None) -> bytes:
    nav = ("<a href='/'>Dashboard</a><a href='/checkpoints'>Checkpoints</a>"
           f"<span style='margin-left:auto'>{_esc(user)} · <a href='/logout'>log out</a></span>" if user else "")
    return (f"<!doctype html><html lang=vi><meta charset=utf-8><title>{_esc(title)} · VHD Gate</title>"
            f"<meta name=viewport content='width=device-width'><style>{CSS}</style>"
            f"<header><h1>VHD Gate · Trung tâm</h1>{nav}</header><main>{body}</main></html>").encode()


def make_handler(dash: Dashboard, users: dict[str, str]):
    sessions: dict[str, tuple[str, float]] = {}
    failures: dict[str, int] = defaultdict(int)

    class Handler(BaseHTTPRequestHandler):
        server_version = "vhd-bridge"

        def log_message(self, fmt, *args):  # access logs carry no personal data, keep them quiet
            logger.debug("%s %s", self.address_string(), fmt % args)

        def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8", headers=()):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Frame-Options", "DENY")
            self.send_header("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; "
                                                        "script-src 'unsafe-inline'; img-src 'self'")
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _user(self) -> str | None:
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
            token = cookie["vhd_session"].value if "vhd_session" in cookie else ""
            entry = sessions.get(token)
            if entry and entry[1] > time.time():
                return entry[0]
            return None

        def _redirect(self, where: str, headers=()):
            self._send(HTTPStatus.SEE_OTHER, b"", headers=[("Location", where), *headers])

        def do_GET(self):
            try:
                self._get()
            except StoreError as exc:
                logger.warning("dashboard database error: %s", exc)
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, page("Error", "<p>Database unavailable.</p>", None))

        def _get(self):
            url = urlparse(self.path)
            if url.path == "/metrics":
                return self._send(200, dash.metrics().encode(), "text/plain; version=0.0.4")
            if url.path == "/login":
                err = "<p class=err>Wrong user name or password.</p>" if "failed" in url.query else ""
                return self._send(200, page("Login", (
                    "<form class=login method=post action=/login><h2>Đăng nhập / Log in</h2>" + err +
                    "<label>User<input name=user autocomplete=username></label>"
                    "<label>Password<input name=password type=password autocomplete=current-password></label>"
                    "<button type=submit>Log in</button></form>"), None))
            user = self._user()
            if user is None:
                return self._redirect("/login")
            if url.path == "/logout":
                return self._redirect("/login", [("Set-Cookie", "vhd_session=; Max-Age=0; Path=/")])
            if url.path == "/":
                now = datetime.now(TZ).strftime("%H:%M:%S")
                body = (f"<section><h2>Gates (fleet)</h2><div id=fleet>{fleet_html(dash.devices())}</div></section>"
                        f"<section><h2>Check-ins today, per checkpoint (live)</h2><div id=live>{dash.live_html()}"
                        f"</div><small>updated <span id=updated>{now}</span></small></section>"
                        f"<script>{LIVE_JS}</script>")
                return self._send(200, page("Dashboard", body, user))
            if url.path == "/api/live":
                data = {"fleet_html": fleet_html(dash.devices()), "live_html": dash.live_html(),
                        "updated": datetime.now(TZ).strftime("%H:%M:%S")}
                return self._send(200, json.dumps(data).encode(), "application/json")
            if url.path == "/api/fleet":
                return self._send(200, json.dumps(dash.devices(), default=str).encode(), "application/json")
            if url.path == "/checkpoints":
                rows = "".join(
                    f"<tr><td>{_esc(c['checkpoint_id'])}</td><td>{_esc(c['name'])}</td><td>{_esc(c['address'])}</td>"
                    f"<td>{_esc(c['unit'])}</td><td>{_esc(c['contact_phone'])}</td>"
                    f"<td><a href='/poster/{_esc(c['checkpoint_id'])}.png'>poster</a></td></tr>"
                    for c in dash.checkpoints())
                body = ("<section><h2>Checkpoints</h2><table><tr><th>Id</th><th>Name</th><th>Address</th>"
                        f"<th>Unit</th><th>Contact</th><th></th></tr>{rows}</table></section>")
                return self._send(200, page("Checkpoints", body, user))
            if url.path.startswith("/poster/") and url.path.endswith(".png"):
                cp = url.path[len("/poster/"):-4]
                match = [c for c in dash.checkpoints() if c["checkpoint_id"] == cp]
                if not match:
                    return self._send(404, page("Not found", "<p>No such checkpoint.</p>", user))
                from provisioning.poster import render_poster

                c = match[0]
                buf = io.BytesIO()
                render_poster(cp, c["name"], c["address"], c["contact_phone"], c["unit"]).save(buf, "PNG")
                return self._send(200, buf.getvalue(), "image/png")
            self._send(404, page("Not found", "<p>Not found.</p>", user))

        def do_POST(self):
            if urlparse(self.path).path != "/login":
                return self._send(405, b"")
            length = min(int(self.headers.get("Content-Length") or 0), 4096)
            form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
            name = form.get("user", [""])[0]
            password = form.get("password", [""])[0]
            ip = self.client_address[0]
            if failures[ip] >= 5:
                time.sleep(min(failures[ip], 10))  # slow down guessing
            stored = users.get(name)
            if stored and verify_password(password, stored):
                failures.pop(ip, None)
                token = secrets.token_urlsafe(32)
                sessions[token] = (name, time.time() + SESSION_SECONDS)
                logger.info("dashboard login: %s", name)
                return self._redirect("/", [("Set-Cookie", f"vhd_session={token}; HttpOnly; SameSite=Strict; "
                                                           f"Path=/; Max-Age={SESSION_SECONDS}")])
            failures[ip] += 1
            logger.warning("dashboard login failed from %s", ip)
            self._redirect("/login?failed")

    return Handler


def serve(dash: Dashboard, users_file: Path, address: str) -> ThreadingHTTPServer:
    """Start the dashboard on `address` (host:port) in a thread; returns the server."""
    try:
        users = json.loads(users_file.read_text())
    except FileNotFoundError:
        users = {}
        logger.warning("no dashboard users in %s: add one with 'vhd-bridge user add'", users_file)
    host, _, port = address.rpartition(":")
    server = ThreadingHTTPServer((host or "127.0.0.1", int(port)), make_handler(dash, users))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="dashboard", daemon=True).start()
    return server

