"""Installing the centre on its server: database and its login, secrets in place, systemd units."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

from common.errors import UserError
from common.files import private_dir, write_private
from provisioning.enroll import render_unit

UNITS = ("vhd-bridge.service", "vhd-web.service", "vhd-retention.service", "vhd-retention.timer")
STARTED = ("vhd-bridge.service", "vhd-web.service", "vhd-retention.timer")
_NAME_OK = set("abcdefghijklmnopqrstuvwxyz0123456789_")


class CentreError(UserError):
    """The centre cannot be installed as asked; the message says what to do."""


def _pg_name(name: str) -> str:
    if not name or not set(name) <= _NAME_OK or name[0].isdigit():
        raise CentreError(f"bad PostgreSQL name {name!r}: lower-case letters, digits and _")
    return name


def create_database(db_name: str, db_user: str, host: str = "127.0.0.1", port: int = 5432,
                    psql: list[str] | None = None) -> str:
    """A login role with a random password and a database it owns, made through the local
    server's administrator (Debian: the `postgres` user over the socket); returns the URL."""
    db_name, db_user = _pg_name(db_name), _pg_name(db_user)
    password = secrets.token_urlsafe(24)
    if psql is None:
        psql = ["runuser", "-u", "postgres", "--", "psql"] if os.geteuid() == 0 else ["psql"]
    statements = [
        f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{db_user}') THEN "
        f"CREATE ROLE {db_user} LOGIN; END IF; END$$",
        f"ALTER ROLE {db_user} PASSWORD '{password}'",
    ]
    for sql in statements:
        _psql(psql, ["-c", sql])
    exists = _psql(psql, ["-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{db_name}'"]).strip()
    if exists != "1":
        _psql(psql, ["-c", f"CREATE DATABASE {db_name} OWNER {db_user}"])
    return f"postgresql://{db_user}:{password}@{host}:{port}/{db_name}"


def _psql(psql: list[str], args: list[str]) -> str:
    try:
        r = subprocess.run([*psql, "-v", "ON_ERROR_STOP=1", "-q", *args], capture_output=True, text=True,
                           timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CentreError(f"cannot run psql ({exc}): is PostgreSQL installed (apt install postgresql)?") from None
    if r.returncode:
        # psql's message, without the statement (it holds the new password)
        first = r.stderr.strip().splitlines()[0] if r.stderr.strip() else f"exit {r.returncode}"
        raise CentreError(f"PostgreSQL refused: {first}")
    return r.stdout


def install_centre(home: Path, root: Path = Path("/"), venv: Path | None = None, database_url: str | None = None,
                   create_db: tuple[str, str] | None = None, portal_url: str = "", say=print) -> Path:
    """Put the centre in place under `root`: the database URL as a private file (made by
    creating the database, or given), every table migrated, the site's signing key, the units
    with this venv's path, and (into /, with systemd running) the services enabled and started.
    Returns the database-url file."""
    venv = venv or Path(sys.prefix)
    etc = root / str(home).lstrip("/") if root != Path("/") else home
    private_dir(etc)
    url_file = etc / "database-url"
    if create_db:
        database_url = create_database(*create_db)
        say(f"created PostgreSQL database {create_db[0]} owned by role {create_db[1]}")
    if database_url:
        write_private(url_file, database_url + "\n")
        say(f"wrote {url_file} (0600)")
    elif not url_file.exists():
        raise CentreError(f"no database: give --create-database, --database-url-file FILE, or write the URL "
                          f"into {url_file}")
    if portal_url or not (etc / "portal-url").exists():
        write_private(etc / "portal-url", portal_url + "\n", mode=0o644)  # public: the posters' address
    if not (etc / "sms-token").exists():
        write_private(etc / "sms-token", "\n")
        say(f"wrote {etc / 'sms-token'}: put the SMS gateway's token there, its address in vhd-web.service")
    if not (etc / "django-secret").exists():
        write_private(etc / "django-secret", secrets.token_urlsafe(48) + "\n")
        say(f"wrote {etc / 'django-secret'} (0600): the web site's signing key")
    # Every table, the declaration database's and the web site's, from the centre's own command.
    r = subprocess.run([str(venv / "bin" / "python"), "-m", "centre.cli", "--db-file", str(url_file), "migrate"],
                       capture_output=True, text=True, env={**os.environ, "VHD_CENTRE_HOME": str(etc)}, timeout=300)
    if r.returncode:
        raise CentreError(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "vhd-centre migrate failed")
    say(r.stdout.strip())
    say(f"next: add the district's users: {venv}/bin/vhd-centre createuser NAME --role district_admin "
        "--password-file FILE")
    if not (etc / "broker" / "bridge-password").exists():
        say(f"note: no broker configuration in {etc / 'broker'} yet: run 'vhd-provision broker-config "
            "--hostname ... --install' before starting the bridge")
    unit_dir = root / "etc" / "systemd" / "system"
    unit_dir.mkdir(parents=True, exist_ok=True)
    for name in UNITS:
        (unit_dir / name).write_text(render_unit(name, venv).replace("/etc/vhd-centre", str(home)))
        say(f"wrote {unit_dir / name}")
    system = root == Path("/") and Path("/run/systemd/system").is_dir() and shutil.which("systemctl")
    if system:
        for cmd in (["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", *STARTED]):
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                raise CentreError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
        say("vhd-bridge.service, vhd-web.service (the site on 127.0.0.1:8000) and vhd-retention.timer running")
    else:
        say(f"systemd left alone; start with: systemctl enable --now {' '.join(STARTED)}")
    return url_file
