"""The centre's install path, as the README gives it: database and its login, secrets, units."""

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
import pytest

from provisioning.cli import main as provision
from provisioning.mosquitto import free_port
from tests.chain import ROOT
from tests.services import database_url


@pytest.fixture
def pg_names():
    """A role and database of the test's own, dropped afterwards."""
    name = f"vhd_t_{secrets.token_hex(4)}"
    yield name
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"DROP ROLE IF EXISTS {name}")


def _scram_holds(verifier: str, password: str) -> bool:
    """Whether PostgreSQL's stored SCRAM-SHA-256 verifier (RFC 5803) is of this password."""
    import base64
    import hashlib
    import hmac

    method, rest = verifier.split("$", 1)
    counted_salt, keys = rest.split("$")
    iterations, salt = counted_salt.split(":")
    stored_key = keys.split(":")[0]
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return method == "SCRAM-SHA-256" and hashlib.sha256(client_key).digest() == base64.b64decode(stored_key)


def _install(root: Path, *extra: str) -> str:
    r = subprocess.run([sys.executable, "-m", "provisioning.cli", "--home", "/etc/vhd-centre", "centre", "install",
                        "--root", str(root), "--venv", sys.prefix, *extra], capture_output=True, text=True,
                       cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def _wait_http(site, run, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            assert site.get("/accounts/login/")[0] == 200
            return
        except OSError:
            if run.proc.poll() is not None:
                raise AssertionError(f"the site stopped: {run.proc.stderr.read()[-3000:]}") from None
            assert time.monotonic() < deadline, "the site did not come up"
            time.sleep(0.3)


@pytest.mark.skipif(os.geteuid() != 0, reason="databases through the postgres user; services under their own uid")
def test_installed_centre_units_serve_people_gates_and_the_district_as_systemd_runs_them(
        tmp_path, pg_names, mosquitto, gateway, careless_umask):
    """The README's centre path into a staging tree, then each unit's own ExecStart under a
    dynamic uid with only its credentials, no home and its unit's environment: a person declares
    and gets a QR, a gate's event is stored, a district user signs in, retention runs."""
    import re

    from common.authority import Authority
    from mqtt_bridge.store import open_store
    from protocol.event import Event, format_time, uuid7
    from protocol.messages import batch_body, encode
    from protocol.token import TrustStore, verify_token
    from protocol.topics import topic
    from tests.services import ProxiedSite, wait_until
    from tests.units import ServiceRun, Unit

    root = tmp_path / "root"
    etc = root / "etc" / "vhd-centre"
    assert provision(["--home", str(etc), "authority", "init"]) == 0
    (etc / "broker").mkdir(mode=0o700)
    (etc / "broker" / "bridge-password").write_text("any\n")
    (tmp_path / "sms-token").write_text("gateway-secret\n")
    web_port = free_port()
    out = _install(root, "--create-database", "--db-name", pg_names, "--db-user", pg_names,
                   "--portal-url", "https://khaibao.quan1.example", "--sms-url", gateway.url,
                   "--sms-token-file", str(tmp_path / "sms-token"), "--web-listen", f"127.0.0.1:{web_port}",
                   "--broker-url", mosquitto.url)
    assert "created PostgreSQL database" in out
    url_file = etc / "database-url"
    url = url_file.read_text().strip()
    assert url_file.stat().st_mode & 0o777 == 0o600 and etc.stat().st_mode & 0o777 == 0o700
    assert (etc / "authority" / "signing-key.pem").stat().st_mode & 0o777 == 0o600
    assert url.startswith(f"postgresql://{pg_names}:") and url.endswith(f"/{pg_names}")
    with psycopg.connect(database_url()) as conn:  # the password was set (on psql's stdin, not its argv)
        verifier = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (pg_names,)).fetchone()[0]
    assert _scram_holds(verifier, unquote(urlsplit(url).password or "")), verifier
    assert not _scram_holds(verifier, "another password")
    with psycopg.connect(url) as conn:  # the new login owns a migrated database
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"checkins", "checkin_ids", "devices", "declarations", "reports_auditentry", "django_session",
            "auth_user"} <= tables  # the declaration database's tables and the site's, one command

    # Run again, as a technician would after an upgrade: nothing is reset, nothing needs a restart.
    again = _install(root, "--create-database", "--db-name", pg_names, "--db-user", pg_names)
    assert url_file.read_text().strip() == url and "nothing changed" in again, again
    with psycopg.connect(url) as conn:
        conn.execute("SELECT 1")  # the running services' password still works

    units = root / "etc" / "systemd" / "system"
    names = ("vhd-bridge.service", "vhd-web.service", "vhd-retention.service", "vhd-retention.timer")
    for name in names:
        text = (units / name).read_text()
        assert "@VENV@" not in text and "DATABASE_URL" not in text and ".example" not in text
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", *[str(units / n) for n in names]],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

    store = open_store(url)
    store.add_checkpoint("CP-Q1-0001", "Chợ Bến Thành")
    store.add_device("gate-q1-0001", "CP-Q1-0001")
    store.close()
    assert subprocess.run([sys.executable, "-m", "centre.cli", "--db", url, "createuser", "ytequan1", "--role",
                           "district_admin", "--password-file", "/dev/stdin"], input="mật-khẩu-dài-12345\n",
                          text=True, cwd=ROOT, capture_output=True, timeout=120).returncode == 0

    def unit(name: str) -> Unit:
        return Unit.parse((units / name).read_text())

    metrics = free_port()  # a technician's own setting, in the file every centre unit reads
    with open(etc / "centre.env", "a") as env_file:
        env_file.write(f"VHD_BRIDGE_METRICS='127.0.0.1:{metrics}'\n")
    bridge = ServiceRun(unit("vhd-bridge.service"), root, cwd_repo=ROOT).start(stderr=subprocess.PIPE, text=True)
    web = ServiceRun(unit("vhd-web.service"), root, cwd_repo=ROOT).start(stderr=subprocess.PIPE, text=True)
    try:
        assert bridge.ready(60), bridge.proc.stderr.read() if bridge.proc.poll() is not None else "no READY=1"
        site = ProxiedSite(web_port, "khaibao.quan1.example")
        _wait_http(site, web)

        # A person on the portal: SMS code through the gateway, a declaration, its signed QR.
        status, path, _ = site.submit("/khai-bao/dang-nhap/", {"phone": "0912345678"})
        assert path.startswith("/khai-bao/xac-nhan/"), (status, path)
        assert wait_until(lambda: gateway.received, timeout=20)
        auth, body = gateway.received[-1]
        assert auth == "Bearer gateway-secret"
        code = re.search(r"mã xác nhận (\d{6})", json.dumps(body, ensure_ascii=False)).group(1)
        status, path, _ = site.submit("/khai-bao/xac-nhan/", {"code": code})
        assert path == "/khai-bao/cua-toi/", (status, path)
        status, path, page = site.submit("/khai-bao/to-khai/moi/", {  # an address from before July 2025
            "full_name": "Nguyễn Thị Vân Anh", "citizen_id": "079203001234", "birth_year": "1990", "sex": "F",
            "nationality": "Việt Nam", "province_code": "79", "ward_code": "", "district": "Quận 1",
            "commune": "Phường Bến Nghé", "address_line": "12 Lê Lợi", "phone": "", "insurance_no": "",
            "relation": "", "symptoms": "no", "exposure": "no", "travel": "no", "consent": "on"})
        declaration = re.search(r"/khai-bao/to-khai/(VHD-[0-9A-Z-]+)/", path + page.decode())
        assert status == 200 and declaration, (status, path, page[:300])
        status, _, png = site.get(f"/khai-bao/to-khai/{declaration.group(1)}/qr.png")
        assert status == 200 and png.startswith(b"\x89PNG")
        import io

        import numpy as np
        from PIL import Image

        from drivers.decoder import make_decoder

        text = make_decoder("zxing").decode(np.asarray(Image.open(io.BytesIO(png)).convert("L")))[0].text
        trust = TrustStore.from_public_keys(Authority(etc / "authority").trust()["public_keys"])
        assert verify_token(text, trust, int(time.time())).declaration_id == declaration.group(1)

        # A gate's event, through the broker, into the database by the bridge unit.
        import paho.mqtt.client as mqtt

        now = datetime.now(UTC)
        event = Event.from_dict({
            "event_id": uuid7(int(now.timestamp() * 1000), os.urandom(10)), "device_id": "gate-q1-0001",
            "checkpoint_id": "CP-Q1-0001", "direction": "in", "kind": "vhd", "subject": declaration.group(1),
            "display_name": "Nguyễn Thị Vân Anh", "scanned_at": format_time(now), "mono_ns": 1, "boot_id": "b1",
            "time_synced": True, "firmware": "test", "schema": 1})
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="gate-q1-0001",
                             protocol=mqtt.MQTTv5)
        client.connect("127.0.0.1", mosquitto.port)
        client.loop_start()
        client.publish(topic("gate-q1-0001", "events"), batch_body("gate-q1-0001", "b1", [encode(event)]),
                       qos=1).wait_for_publish(10)
        client.loop_stop()
        client.disconnect()

        def stored() -> bool:
            with psycopg.connect(url) as conn:
                return conn.execute("SELECT count(*) FROM checkins WHERE event_id = %s",
                                    (event.event_id,)).fetchone()[0] == 1
        assert wait_until(stored, timeout=30)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=10) as page:
            assert b"vhd_bridge_events_total 1.0" in page.read()

        # The district signs in and sees the day's report.
        staff = ProxiedSite(web_port, "khaibao.quan1.example")
        status, path, _ = staff.submit("/accounts/login/", {"username": "ytequan1",
                                                            "password": "mật-khẩu-dài-12345"})
        assert path == "/fleet/", (status, path)
        status, _, page = staff.get("/reports/?by=checkpoint&format=csv")
        today = [line for line in page.decode().splitlines() if "CP-Q1-0001" in line]
        assert status == 200 and today and ",1," in today[0], page.decode()
        # A host the site does not serve (a scanner on the server's address): 400, one line logged.
        assert ProxiedSite(web_port, "203.0.113.7").get("/")[0] == 400
    finally:
        bridge_code, web_code = bridge.stop(), web.stop()
        web_log = web.proc.stderr.read()
        print("bridge:", bridge.proc.stderr.read()[-3000:], "\nweb:", web_log[-5000:])
    assert bridge_code == 0 and web_code == 0
    assert "Invalid HTTP_HOST header: '203.0.113.7'" in web_log and "Traceback" not in web_log

    # Retention, under its own dynamic user, finds the database from its credential alone.
    retention = ServiceRun(unit("vhd-retention.service"), root, cwd_repo=ROOT)
    retention.start(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = retention.proc.communicate(timeout=120)
    retention.stop()
    assert retention.proc.returncode == 0 and "deleted 0 check-in(s)" in out, err


def test_centre_install_without_a_database_says_how():
    r = subprocess.run([sys.executable, "-m", "provisioning.cli", "--home", "/nonexistent-centre", "centre",
                        "install", "--root", "/nonexistent-root-for-test"], capture_output=True, text=True,
                       cwd=ROOT, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "--create-database" in r.stderr


@pytest.mark.parametrize("args, says", [
    (["--create-database"], "--portal-url https://"),
    (["--create-database", "--portal-url", "http://khaibao.example"], "over https://"),
    (["--create-database", "--portal-url", "khaibao.example"], "is not an address"),
    (["--create-database", "--portal-url", "https://khaibao.example"], "vhd-provision authority init"),
    (["--create-database", "--portal-url", "https://khaibao.example", "--sms-url", "ftp://x"], "https:// address"),
    (["--create-database", "--portal-url", "https://khaibao.example", "--sms-template", "{'to': '{phone}'}"],
     "without quotes"),
    (["--create-database", "--portal-url", "https://khaibao.example", "--site-host", "a.example\rX=1"],
     "without quotes"),
    (["--create-database", "--portal-url", "https://khaibao.example", "--web-listen", "127.0.0.1:99999"],
     "--web-listen takes HOST:PORT"),
    (["--create-database", "--portal-url", "https://khaibao.example", "--sms-template", '{"to": "{phone}"}'],
     "--sms-template: the SMS template has no {text} in its values"),
])
def test_centre_install_says_what_is_missing_before_it_changes_anything(tmp_path, args, says):
    r = subprocess.run([sys.executable, "-m", "provisioning.cli", "--home", "/etc/vhd-centre", "centre",
                        "install", "--root", str(tmp_path), *args], capture_output=True, text=True, cwd=ROOT,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not any(tmp_path.iterdir())  # nothing written
