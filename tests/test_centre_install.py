"""The centre's install path, as the README gives it: database and its login, secrets, units."""

import os
import secrets
import shlex
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest

from provisioning.cli import main as provision
from provisioning.mosquitto import free_port
from tests.chain import ROOT
from tests.services import StderrReader, database_url


@pytest.fixture
def pg_names():
    """A role and database of the test's own, dropped afterwards."""
    name = f"vhd_t_{secrets.token_hex(4)}"
    yield name
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"DROP ROLE IF EXISTS {name}")


@pytest.mark.skipif(os.geteuid() != 0, reason="creating the database goes through the postgres user")
def test_centre_install_creates_database_units_and_secrets(tmp_path, pg_names, mosquitto, careless_umask):
    root, home = tmp_path / "root", Path("/etc/vhd-centre")
    assert provision(["--home", str(home), "centre", "install", "--create-database", "--db-name", pg_names,
                      "--db-user", pg_names, "--root", str(root), "--venv", sys.prefix]) == 0
    etc = root / "etc" / "vhd-centre"
    url_file = etc / "database-url"
    assert url_file.stat().st_mode & 0o777 == 0o600 and etc.stat().st_mode & 0o777 == 0o700
    url = url_file.read_text().strip()
    assert url.startswith(f"postgresql://{pg_names}:") and url.endswith(f"/{pg_names}")
    with psycopg.connect(url) as conn:  # the new login owns a migrated database
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"checkins", "checkin_ids", "devices", "declarations", "reports_auditentry", "django_session",
            "auth_user"} <= tables  # the declaration database's tables and the site's, one command
    assert (etc / "django-secret").stat().st_mode & 0o777 == 0o600

    units = root / "etc" / "systemd" / "system"
    bridge_unit = (units / "vhd-bridge.service").read_text()
    for name in ("vhd-bridge.service", "vhd-web.service", "vhd-retention.service", "vhd-retention.timer"):
        text = (units / name).read_text()
        assert "@VENV@" not in text and "DATABASE_URL" not in text
    assert f"ExecStart={sys.prefix}/bin/vhd-bridge run" in bridge_unit
    assert "LoadCredential=database-url:/etc/vhd-centre/database-url" in bridge_unit
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", *[str(units / n) for n in
                        ("vhd-bridge.service", "vhd-web.service", "vhd-retention.service", "vhd-retention.timer")]],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr

    # The bridge unit's own command, with its credentials where systemd would put them: it
    # ingests and serves its metrics with no secret on its command line.
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "database-url").write_text(url)
    (creds / "bridge-password").write_text("any\n")
    (creds / "django-secret").write_text((etc / "django-secret").read_text())
    http = free_port()
    line = next(x for x in bridge_unit.splitlines() if x.startswith("ExecStart="))[len("ExecStart="):]
    argv = [a.replace("mqtt://127.0.0.1:1883", mosquitto.url).replace("127.0.0.1:9108", f"127.0.0.1:{http}")
            for a in shlex.split(line)]
    from urllib.parse import urlparse

    assert urlparse(url).password not in line  # the database password stays off the command line
    env = {**os.environ, "CREDENTIALS_DIRECTORY": str(creds)}
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    reader = StderrReader(proc)
    try:
        assert any("bridge subscribed" in x for x in reader.follow(30)), reader.rest(1)
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics") as page:
                    assert b"vhd_bridge_events_total 0.0" in page.read()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
    finally:
        proc.terminate()
        assert proc.wait(20) == 0
    # The web unit's command: the site answers, with the database and key from credentials alone.
    line = next(x for x in (units / "vhd-web.service").read_text().splitlines() if x.startswith("ExecStart="))
    web = free_port()
    argv = [a.replace("127.0.0.1:8000", f"127.0.0.1:{web}") for a in shlex.split(line[len("ExecStart="):])]
    site = subprocess.Popen(argv, env={**env, "VHD_CENTRE_HOSTS": "127.0.0.1"}, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{web}/") as page:
                    assert page.url.endswith("/accounts/login/?next=/")
                break
            except OSError:
                assert time.monotonic() < deadline and site.poll() is None
                time.sleep(0.2)
    finally:
        site.terminate()
        site.wait(20)
    # Retention's command, too, finds the database from its credential alone.
    line = next(x for x in (units / "vhd-retention.service").read_text().splitlines() if x.startswith("ExecStart="))
    r = subprocess.run(shlex.split(line[len("ExecStart="):]), env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "deleted 0 check-in(s)" in r.stdout, r.stderr


def test_centre_install_without_a_database_says_how():
    r = subprocess.run([sys.executable, "-m", "provisioning.cli", "--home", "/nonexistent-centre", "centre",
                        "install", "--root", "/nonexistent-root-for-test"], capture_output=True, text=True,
                       cwd=ROOT, stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "--create-database" in r.stderr
