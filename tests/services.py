"""Real services for tests: a private mosquitto, a PostgreSQL schema per test, a cuttable TCP proxy."""

from __future__ import annotations

import json
import os
import queue
import secrets
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import quote

import psycopg
import pytest

from provisioning.mosquitto import LocalMosquitto

DEFAULT_DATABASE_URL = "postgresql://127.0.0.1:5432/test"


def database_url() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


# What a trigger before each write does in `before_write`: fail as a read-only database does
# (maintenance, a standby after a failover: SQLSTATE 25006), or take half a second.
READ_ONLY = ("BEGIN RAISE EXCEPTION 'cannot execute INSERT in a read-only transaction' "
             "USING ERRCODE = 'read_only_sql_transaction'; END")
SLOW = "BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END"


@contextmanager
def before_write(url: str, tables: tuple[str, ...], body: str, write: str = "INSERT"):
    """A PL/pgSQL trigger (`body`) before every `write` (INSERT, UPDATE) of a row of `tables` in
    the database at `url`, while the block runs; dropped after it, whatever happens."""
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f"CREATE FUNCTION before_write() RETURNS trigger LANGUAGE plpgsql AS $${body}$$")
        for table in tables:
            db.execute(f"CREATE TRIGGER before_write BEFORE {write} ON {table} FOR EACH ROW "
                       "EXECUTE FUNCTION before_write()")
    try:
        yield
    finally:
        with psycopg.connect(url, autocommit=True) as db:
            for table in tables:
                db.execute(f"DROP TRIGGER before_write ON {table}")
            db.execute("DROP FUNCTION before_write()")


def with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture
def mosquitto(tmp_path):
    broker = LocalMosquitto(tmp_path / "mosquitto").start()
    yield broker
    broker.stop()


@contextmanager
def pg_schema():
    """A fresh schema in the test database (its URL), dropped afterwards."""
    base = database_url()
    schema = f"vhd_t_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL not reachable at DATABASE_URL ({exc}); `make test` starts it")
    try:
        yield with_search_path(base, schema)
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def pg_url():
    """A fresh schema in the test database, dropped afterwards."""
    with pg_schema() as url:
        yield url


class SmsGateway(BaseHTTPRequestHandler):
    """An SMS gateway's stand-in: records each POST (its Authorization and JSON body) and each GET
    (its Authorization and path); `mode` "fail" answers 500, "slow" answers after 7 s, "moved"
    sends the POST elsewhere with a 302 (where a GET would be answered 200), "garbled" answers
    with a line that is not HTTP, "drip" sends "200 OK" then a header line every half second for
    40 s."""

    received: list = []
    mode = "ok"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.headers.get("Authorization"), json.loads(body)))
        if type(self).mode == "garbled":
            self.wfile.write(b"HELLO THERE\r\n\r\n")
            return
        if type(self).mode == "drip":
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for _ in range(80):
                    self.wfile.write(b"X-Wait: 1\r\n")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass  # the client gave up, as it should
            return
        if type(self).mode == "slow":
            time.sleep(7)
        self.send_response({"fail": 500, "moved": 302}.get(type(self).mode, 200))
        if type(self).mode == "moved":
            self.send_header("Location", "/elsewhere")
        self.end_headers()

    def do_GET(self):
        type(self).received.append((self.headers.get("Authorization"), self.path))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    """A local SMS gateway: .url to POST to, .received, .mode."""
    handler = type("Gateway", (SmsGateway,), {"received": [], "mode": "ok"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}/send"
    yield handler
    server.shutdown()


class TcpProxy:
    """Forwards 127.0.0.1:port to a target; `cut()` drops every connection and refuses new ones."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.up.clear()
        with self._lock:
            for s in self._conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self._conns.clear()

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()


def wait_until(predicate, timeout=60, step=0.2) -> bool:
    """Poll a condition until it holds or the deadline passes; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


class StderrReader:
    """Reads a process's stderr on a thread, so tests can wait for lines with a deadline."""

    def __init__(self, proc, stream=None):
        self.lines: list[str] = []
        self._q: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream or proc.stderr,), daemon=True)
        self._thread.start()

    def _pump(self, stream):
        for line in stream:
            self._q.put(line)
        self._q.put(None)

    def follow(self, timeout):
        """Lines as they come, for at most `timeout` seconds or until the stream ends."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._q.get(timeout=left)
            except queue.Empty:
                return
            if line is None:
                return
            self.lines.append(line)
            yield line

    def rest(self, timeout=20) -> str:
        for _ in self.follow(timeout):
            pass
        return "".join(self.lines)


def write_gate_config(path, authority, state, extra: str = "", device_id: str = "gate-cli-01",
                      checkpoint_id: str = "CP-CLI"):
    """A gate config for a daemon under test: no OLED, no GPIO, the test authority's key."""
    path.write_text(f"""
[gate]
device_id = "{device_id}"
checkpoint_id = "{checkpoint_id}"
checkpoint_name = "Cổng chính"
state_dir = "{state}"

[display]
driver = "none"

[signals]
driver = "none"

[trust]
public_keys = ["{authority.public}"]
{extra}
""", encoding="utf-8")
    return path


class ProxiedSite:
    """A browser reaching the site through its TLS proxy (docs/nginx.conf): the portal's host name,
    X-Forwarded-Proto https, its cookies kept (secure ones included, as over HTTPS), redirects
    followed, Django's CSRF token sent back with each form."""

    def __init__(self, port: int, host: str):
        self.port, self.host, self.cookies = port, host, {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, bytes]:
        import http.client
        import urllib.parse
        from http.cookies import SimpleCookie

        for _ in range(10):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            headers = {"Host": self.host, "X-Forwarded-Proto": "https", "Referer": f"https://{self.host}{path}",
                       "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
            body = None
            if form is not None:
                body = urllib.parse.urlencode(form).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            for header in r.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            conn.close()
            if r.status in (301, 302, 303) and r.getheader("Location"):
                location = urllib.parse.urlparse(r.getheader("Location"))
                path = location.path + (f"?{location.query}" if location.query else "")
                method, form = "GET", None
                continue
            return r.status, path, data
        raise AssertionError("too many redirects")

    def get(self, path: str) -> tuple[int, str, bytes]:
        return self.request("GET", path)

    def submit(self, path: str, fields: dict) -> tuple[int, str, bytes]:
        """The form at `path` filled with `fields` and posted with the page's CSRF token."""
        import re

        _, path, page = self.get(path)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, page[:500]
        return self.request("POST", path, {**fields, "csrfmiddlewaretoken": token.group(1).decode()})


@pytest.fixture
def django_script(tmp_path):
    """Runs a script with the site's Django set up on a fresh SQLite centre of its own (or the
    database given) in a new process; its last line of output, read as JSON."""

    def run(script: str, *args: str, db: str | None = None, **env: str):
        import subprocess
        import sys
        from pathlib import Path

        environment = {**os.environ, "VHD_CENTRE_HOME": str(tmp_path),
                       "VHD_CENTRE_DB": db or f"sqlite:///{tmp_path / 'c.db'}",
                       "DJANGO_SETTINGS_MODULE": "centre.settings", "VHD_CENTRE_HOSTS": "testserver", **env}
        r = subprocess.run([sys.executable, "-c", script, *args], env=environment, capture_output=True, text=True,
                           cwd=Path(__file__).resolve().parent.parent, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        return json.loads(r.stdout.strip().splitlines()[-1])

    return run


@pytest.fixture
def pg_replica(tmp_path_factory):
    """A PostgreSQL primary and its streaming replica (pg_basebackup -R), each a fresh cluster on a
    free loopback port, run as the postgres user when the tests run as root; their URLs."""
    import glob
    import shutil
    import subprocess
    import tempfile

    from provisioning.mosquitto import free_port

    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not bins:
        pytest.fail("PostgreSQL's server binaries are missing: `make test` installs postgresql")
    bindir = os.path.dirname(bins[-1])
    root = tempfile.mkdtemp(prefix="vhd-pg-")
    as_owner: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(root, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    os.chmod(root, 0o755)

    def run(*args: str) -> None:
        r = subprocess.run([*as_owner, *args], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]

    primary, replica = os.path.join(root, "primary"), os.path.join(root, "replica")
    ports = free_port(), free_port()
    run(f"{bindir}/initdb", "-D", primary, "-U", "vhd", "--auth=trust", "--no-locale", "-E", "UTF8")
    with open(os.path.join(primary, "postgresql.conf"), "a") as conf:  # appended: its owner stays
        conf.write(f"port = {ports[0]}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
                   "wal_level = replica\nfsync = off\nhot_standby = on\n")
    started = []
    try:
        run(f"{bindir}/pg_ctl", "-D", primary, "-l", f"{root}/primary.log", "-w", "start")
        started.append(primary)
        run(f"{bindir}/pg_basebackup", "-h", "127.0.0.1", "-p", str(ports[0]), "-U", "vhd", "-D", replica, "-R",
            "-X", "stream", "-c", "fast")
        with open(os.path.join(replica, "postgresql.auto.conf"), "a") as conf:
            conf.write(f"port = {ports[1]}\n")
        run(f"{bindir}/pg_ctl", "-D", replica, "-l", f"{root}/replica.log", "-w", "start")
        started.append(replica)

        def stop_replica() -> None:
            run(f"{bindir}/pg_ctl", "-D", replica, "-m", "fast", "-w", "stop")
            started.remove(replica)

        primary_url, replica_url = (f"postgresql://vhd@127.0.0.1:{p}/postgres" for p in ports)
        yield SimpleNamespace(primary=primary_url, replica=replica_url, stop_replica=stop_replica)
    finally:
        for data in reversed(started):
            subprocess.run([*as_owner, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
