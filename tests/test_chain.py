"""Every scan reaches the database exactly once, whatever fails in between."""

import signal

import pytest

from tests.chain import Chain, via_port
from tests.services import TcpProxy


@pytest.fixture
def chain(tmp_path, authority, pg_url, mosquitto):
    c = Chain(tmp_path, authority, pg_url, mosquitto)
    yield c
    c.close()


def assert_exactly_once(chain):
    count, ids = chain.stored()
    assert len(chain.event_ids) == len(set(chain.event_ids))
    assert ids == set(chain.event_ids)
    assert count == len(ids)  # no event stored twice
    assert chain.queue_depth() == 0


def test_sqlite_site_end_to_end(tmp_path, authority, mosquitto):
    c = Chain(tmp_path, authority, f"sqlite:///{tmp_path / 'site.sqlite3'}", mosquitto)
    try:
        c.start_bridge()
        c.start_gate(repeat=2)
        assert c.finish_gate() == 0
        assert len(c.event_ids) == 60
        assert_exactly_once(c)
    finally:
        c.close()


def test_broker_killed_and_restarted_mid_stream(chain):
    chain.start_bridge()
    chain.start_gate(repeat=4)
    chain.follow(25)
    chain.broker.kill()
    chain.follow(45)  # the gate keeps checking people in while the broker is down
    chain.broker.start()
    assert chain.finish_gate() == 0
    assert len(chain.event_ids) == 120
    assert_exactly_once(chain)


def test_bridge_killed_mid_batch_and_restarted(chain):
    bridge = chain.start_bridge()
    chain.start_gate(repeat=4)
    chain.follow(30)
    bridge.send_signal(signal.SIGKILL)
    bridge.wait(10)
    chain.follow(50)
    chain.start_bridge()
    assert chain.finish_gate() == 0
    assert_exactly_once(chain)


def test_database_unreachable_while_people_pass(chain):
    from urllib.parse import urlparse

    u = urlparse(chain.db_url)
    proxy = TcpProxy(u.hostname, u.port or 5432)
    try:
        chain.start_bridge(via_port(chain.db_url, proxy.port))
        chain.start_gate(repeat=4, fps=10)
        chain.follow(15)
        proxy.cut()
        chain.follow(40)
        # The outage lasts until the bridge has found the database gone and the gate, past its
        # ack timeout (3 s), has sent everything again: then the database comes back.
        assert chain.bridge_says("database write failed")
        assert chain.follow(10**9, 60, until_line="resending unacknowledged events")
        proxy.restore()
        assert chain.finish_gate() == 0
        assert_exactly_once(chain)
    finally:
        proxy.close()


def test_gate_killed_and_restarted(chain):
    chain.start_bridge()
    chain.start_gate(repeat=4)
    chain.follow(30)
    chain.broker.kill()  # so that some events are surely still queued when the gate dies
    chain.follow(45)
    chain.gate.send_signal(signal.SIGKILL)
    chain.gate.wait(10)
    assert chain.queue_depth() > 0
    chain.broker.start()
    chain.start_gate(repeat=1)
    assert chain.finish_gate() == 0
    assert_exactly_once(chain)


def test_two_bridges_and_two_web_processes_on_one_database_lose_or_double_nothing(chain, tmp_path):
    """What a bigger centre runs: two bridges sharing the gates' subscription and two web
    processes behind one address, all on one PostgreSQL. The gate's scans and phones' check-ins
    by the poster, each form sent to both web processes (a retry through another host), arrive
    while both bridges ingest: every event is stored once."""
    import json
    import os
    import re
    import subprocess
    import sys
    import threading
    import time
    import urllib.parse
    import urllib.request
    from datetime import UTC, datetime, timedelta
    from http.cookiejar import CookieJar

    import psycopg

    from provisioning.mosquitto import free_port
    from tests.chain import CHECKPOINT, ROOT

    phones = [f"0933{n:06d}" for n in range(12)]
    now = datetime.now(UTC)
    with psycopg.connect(chain.db_url, autocommit=True) as db:
        with db.cursor() as cur:
            cur.executemany("INSERT INTO declarations (declaration_id, full_name, birth_year, sex, phone, owner_phone, "
                            "declared_at, expires_at) VALUES (%s, 'Người Đi Qua', 1985, 'M', %s, %s, %s, %s)",
                            [(f"VHD-TWO-{p}", p, p, now, now + timedelta(days=1)) for p in phones])
    home = tmp_path / "centre-home"
    home.mkdir()
    env = {**os.environ, "VHD_CENTRE_HOME": str(home), "VHD_SMS_BACKEND": "file",
           "VHD_SMS_FILE": str(home / "sms.jsonl"), "VHD_SMS_MAX_PER_ADDRESS": "1000"}
    ports = [free_port(), free_port()]
    webs = [subprocess.Popen([sys.executable, "-m", "centre.cli", "--db", chain.db_url, "serve", "--listen",
                              f"127.0.0.1:{port}", "--workers", "2"], env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
            for port in ports]
    try:
        for port in ports:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, "a web process did not start"
                    time.sleep(0.2)
        metrics = [free_port(), free_port()]
        for port in metrics:
            chain.start_bridge(None, "--metrics", f"127.0.0.1:{port}")
        chain.start_gate(repeat=2)

        def form(opener, port: int, path: str) -> dict:
            with opener.open(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
                page = r.read().decode()
            fields = dict(re.findall(r'name="(csrfmiddlewaretoken|declaration_id|event_id)" value="([^"]+)"', page))
            return fields

        def send(opener, port: int, path: str, data: dict) -> str:
            req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=urllib.parse.urlencode(data).encode(),
                                         headers={"Referer": f"http://127.0.0.1:{port}{path}"})
            with opener.open(req, timeout=30) as r:
                return r.read().decode()

        confirmed, errors = [], []

        def phone(p: str, k: int) -> None:
            try:
                opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
                first, other = ports[k % 2], ports[(k + 1) % 2]
                send(opener, first, "/khai-bao/dang-nhap/", {
                    **form(opener, first, "/khai-bao/dang-nhap/"), "phone": p})
                lines = [json.loads(x) for x in (home / "sms.jsonl").read_text(encoding="utf-8").splitlines()]
                code = re.search(r"\b(\d{6})\b", [x["text"] for x in lines if x["to"] == p][-1]).group(1)
                send(opener, other, "/khai-bao/xac-nhan/", {  # the session is the database's: any host serves it
                    **form(opener, other, "/khai-bao/xac-nhan/"), "code": code})
                for _ in range(3):
                    fields = form(opener, first, f"/c/{CHECKPOINT}/")
                    for port in (first, other):  # sent, then sent again through the other host
                        page = send(opener, port, f"/c/{CHECKPOINT}/", {**fields, "direction": "in"})
                        assert 'id="confirmation"' in page
                    confirmed.append(fields["event_id"])
            except Exception as exc:  # noqa: BLE001 (reported below, with the phone)
                errors.append(f"{p}: {exc!r}")

        threads = [threading.Thread(target=phone, args=(p, k)) for k, p in enumerate(phones)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == [] and len(confirmed) == 36 == len(set(confirmed))
        assert chain.finish_gate() == 0 and len(chain.event_ids) == 60
        count, ids = chain.wait_stored(60 + 36)
        assert count == len(ids) == 96  # nothing stored twice, nothing lost
        assert ids == set(chain.event_ids) | set(confirmed)
        assert all(b.poll() is None for b in chain.bridges) and chain.queue_depth() == 0
        stored_by = []
        for port in metrics:  # each bridge's own count of what it stored first: together, the gate's 60
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                stored_by.append(float(re.search(r"^vhd_bridge_events_new_total (\S+)$", r.read().decode(),
                                                 re.M).group(1)))
        assert sum(stored_by) == 60, stored_by
    finally:
        for w in webs:
            w.terminate()
            w.wait(30)
