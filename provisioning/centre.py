"""Installing the centre on its server: database and its login, secrets in place, systemd units.

Safe to run again: what exists is kept (the database and its password, the site's key, the
token), what a run changes is said, and so is what to restart for it to take effect.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from common.args import host_port
from common.authority import Authority
from common.errors import UserError
from common.files import private_dir, read_secret, write_private
from common.smsbody import sms_body
from protocol.checkpoint import valid_portal_url
from provisioning.enroll import render_unit

UNITS = ("vhd-bridge.service", "vhd-web.service", "vhd-retention.service", "vhd-retention.timer")
STARTED = ("vhd-bridge.service", "vhd-web.service", "vhd-retention.timer")
ENV_FILE = "centre.env"  # settings (no secrets) every centre unit reads: EnvironmentFile=
_NAME_OK = set("abcdefghijklmnopqrstuvwxyz0123456789_")
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


class CentreError(UserError):
    """The centre cannot be installed as asked; the message says what to do."""


@dataclass
class Settings:
    """What a technician tells `centre install`; None keeps what an earlier run set."""

    portal_url: str | None = None
    site_hosts: str | None = None
    sms_url: str | None = None
    sms_template: str | None = None
    sms_token_file: Path | None = None
    web_listen: str | None = None
    broker_url: str | None = None


@dataclass
class Changes:
    """What a run changed, and so which services must restart."""

    say: Callable[[str], object] = print
    restart: set[str] = field(default_factory=set)
    changed: bool = False

    def note(self, text: str, *services: str) -> None:
        self.say(text)
        self.changed = True
        self.restart.update(services)


def _pg_name(name: str) -> str:
    if not name or not set(name) <= _NAME_OK or name[0].isdigit():
        raise CentreError(f"bad PostgreSQL name {name!r}: lower-case letters, digits and _")
    return name


def _psql_command() -> list[str]:
    return ["runuser", "-u", "postgres", "--", "psql"] if os.geteuid() == 0 else ["psql"]


def create_database(db_name: str, db_user: str, host: str = "127.0.0.1", port: int = 5432,
                    psql: list[str] | None = None) -> tuple[str, list[str]]:
    """A login role with a new random password and a database it owns, made through the local
    server's administrator (Debian: the `postgres` user over the socket), each only if missing;
    returns the URL and what was done. Only called where no URL for the role is kept."""
    db_name, db_user = _pg_name(db_name), _pg_name(db_user)
    password = secrets.token_urlsafe(24)
    psql = psql or _psql_command()
    done = []
    role = _psql(psql, ["-tAc", f"SELECT 1 FROM pg_roles WHERE rolname = '{db_user}'"]).strip()
    if role != "1":
        _psql(psql, ["-c", f"CREATE ROLE {db_user} LOGIN"])
        done.append(f"created PostgreSQL role {db_user}")
    else:
        done.append(f"PostgreSQL role {db_user} existed without a URL kept here: its password was set anew")
    _psql(psql, [], sql=f"ALTER ROLE {db_user} PASSWORD '{password}'")  # on stdin: not in /proc's command lines
    exists = _psql(psql, ["-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{db_name}'"]).strip()
    if exists != "1":
        _psql(psql, ["-c", f"CREATE DATABASE {db_name} OWNER {db_user}"])
        done.append(f"created PostgreSQL database {db_name} owned by {db_user}")
    else:
        done.append(f"PostgreSQL database {db_name} exists: kept")
    return f"postgresql://{db_user}:{password}@{host}:{port}/{db_name}", done


def _psql(psql: list[str], args: list[str], sql: str | None = None) -> str:
    try:
        r = subprocess.run([*psql, "-v", "ON_ERROR_STOP=1", "-q", *args], capture_output=True, text=True,
                           timeout=60, input=sql)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CentreError(f"cannot run psql ({exc}): is PostgreSQL installed (apt install postgresql)?") from None
    if r.returncode:
        # psql's message, without the statement (it holds the new password)
        first = r.stderr.strip().splitlines()[0] if r.stderr.strip() else f"exit {r.returncode}"
        raise CentreError(f"PostgreSQL refused: {first}")
    return r.stdout


def check_portal_url(url: str) -> str:
    """The portal's public address: https:// (people's phones reach it over the internet; the site
    sends its cookies over TLS only), http:// only on this machine's loopback for a trial."""
    url = url.strip().rstrip("/")
    if not valid_portal_url(url):
        raise CentreError(f"--portal-url {url!r} is not an address: e.g. https://khaibao.quan1.example")
    u = urlparse(url)
    if u.scheme != "https" and u.hostname not in _LOOPBACK:
        raise CentreError(f"--portal-url {url!r}: people's phones must reach the portal over https://")
    return url


def _read_env(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip().removeprefix("'").removesuffix("'")
    return out


def _write_env(path: Path, values: dict[str, str]) -> None:
    body = "".join(f"{k}='{v}'\n" for k, v in sorted(values.items()))
    write_private(path, "# VHD Gate centre settings, read by its units (EnvironmentFile=). Written by\n"
                        "# `vhd-provision centre install`; edit here or run it again, then restart the units.\n"
                  + body, mode=0o644)


def _check_settings(s: Settings) -> None:
    for option, value in (("--site-host", s.site_hosts), ("--sms-url", s.sms_url), ("--sms-template", s.sms_template),
                          ("--web-listen", s.web_listen), ("--broker-url", s.broker_url)):
        if value is not None and ("'" in value or "\\" in value or not value.isprintable()):
            raise CentreError(f"{option}: a value without quotes ('), backslashes, line breaks or control characters")
    if s.sms_template is not None:
        try:
            sms_body(s.sms_template, "0912345678", "test")
        except ValueError as exc:
            raise CentreError(f"--sms-template: {exc}") from None
    if s.web_listen is not None:
        try:
            host_port(s.web_listen, "--web-listen")
        except ValueError as exc:
            raise CentreError(str(exc)) from None
    if s.sms_url is not None and urlparse(s.sms_url).scheme not in ("http", "https"):
        raise CentreError(f"--sms-url {s.sms_url!r}: the gateway's https:// address")


def _settings(etc: Path, s: Settings, changes: Changes) -> dict[str, str]:
    """centre.env: the site's hosts, SMS gateway, listen address and broker; given ones replace."""
    path = etc / ENV_FILE
    env = _read_env(path)
    wanted = {"VHD_CENTRE_HOSTS": s.site_hosts, "VHD_SMS_URL": s.sms_url, "VHD_SMS_TEMPLATE": s.sms_template,
              "VHD_WEB_LISTEN": s.web_listen, "VHD_BRIDGE_BROKER": s.broker_url}
    for key, value in wanted.items():
        if value is None:
            continue
        if env.get(key) != value:
            env[key] = value
            changes.note(f"{path}: {key} set", "vhd-bridge.service" if key == "VHD_BRIDGE_BROKER"
                         else "vhd-web.service")
    if not path.exists() or _read_env(path) != env:
        _write_env(path, env)
    return env


def _put_secret(path: Path, value: str, label: str, changes: Changes, *services: str, mode: int = 0o600) -> None:
    old = path.read_text() if path.exists() else None
    if old != value:
        write_private(path, value, mode=mode)
        changes.note(f"{'wrote' if old is None else 'changed'} {path} ({label})", *services)


def _database(etc: Path, database_url: str | None, create_db: tuple[str, str] | None, changes: Changes) -> None:
    url_file = etc / "database-url"
    kept = url_file.read_text().strip() if url_file.exists() else ""
    if database_url:
        if database_url != kept:
            write_private(url_file, database_url + "\n")
            changes.note(f"wrote {url_file} (0600)", "vhd-bridge.service", "vhd-web.service")
    elif kept:
        changes.say(f"database: kept {url_file}")
        if create_db:
            changes.say("  (--create-database leaves an existing database and its password alone)")
    elif create_db:
        url, done = create_database(*create_db)
        for line in done:
            changes.say(line)
        write_private(url_file, url + "\n")
        changes.note(f"wrote {url_file} (0600)", "vhd-bridge.service", "vhd-web.service")


def _units(root: Path, home: Path, venv: Path, changes: Changes) -> None:
    """The units as this release ships them. A technician's own changes belong in drop-ins
    (`systemctl edit NAME`), which this never touches; a unit file edited in place is kept
    beside the new one and said."""
    unit_dir = root / "etc" / "systemd" / "system"
    unit_dir.mkdir(parents=True, exist_ok=True)
    for name in UNITS:
        path = unit_dir / name
        text = render_unit(name, venv).replace("/etc/vhd-centre", str(home))
        old = path.read_text() if path.exists() else None
        if old == text:
            continue
        if old is not None:
            keep = path.with_name(f"{name}.before-{time.strftime('%Y%m%d%H%M%S')}")
            shutil.copyfile(path, keep)
            changes.say(f"{path} differed from this release's: the old one kept as {keep.name}")
        path.write_text(text)
        changes.note(f"{'wrote' if old is None else 'updated'} {path}", name)


def install_centre(home: Path, root: Path = Path("/"), venv: Path | None = None, database_url: str | None = None,
                   create_db: tuple[str, str] | None = None, settings: Settings | None = None,
                   say=print) -> Path:
    """Put the centre in place under `root`: the database URL as a private file (made by
    creating the database, or given), every table migrated, the site's signing keys, the
    settings, the units with this venv's path, and (into /, with systemd running) the services
    enabled and started. Returns the database-url file."""
    settings = settings or Settings()
    venv = venv or Path(sys.prefix)
    etc = root / str(home).lstrip("/") if root != Path("/") else home
    changes = Changes(say)
    # Everything is checked before anything is written.
    if not (database_url or create_db or (etc / "database-url").exists()):
        raise CentreError(f"no database: give --create-database, --database-url-file FILE, or write the URL "
                          f"into {etc / 'database-url'}")
    portal_file = etc / "portal-url"
    portal = check_portal_url(settings.portal_url) if settings.portal_url else None
    if portal is None:
        kept = portal_file.read_text().strip() if portal_file.exists() else ""
        if not kept:
            raise CentreError("the portal's public address is needed (posters and gates point phones at it): "
                              "give --portal-url https://...")
        portal = check_portal_url(kept)
    _check_settings(settings)
    authority = Authority(etc / "authority")
    if not authority.exists():
        raise CentreError(f"no issuer's keys in {authority.folder}: run 'vhd-provision authority init' first")

    private_dir(etc)
    _database(etc, database_url, create_db, changes)
    _put_secret(portal_file, portal + "\n", "the portal's address", changes, "vhd-web.service", mode=0o644)
    env = _settings(etc, settings, changes)
    if settings.sms_token_file:
        try:
            token = read_secret(settings.sms_token_file)
        except OSError as exc:
            raise CentreError(f"--sms-token-file {settings.sms_token_file}: {exc.strerror}") from None
        except ValueError as exc:
            raise CentreError(f"--sms-token-file: {exc}") from None
        _put_secret(etc / "sms-token", token + "\n", "the SMS gateway's token", changes, "vhd-web.service")
    elif not (etc / "sms-token").exists():
        _put_secret(etc / "sms-token", "\n", "empty: the SMS gateway's token goes here", changes)
    if not (etc / "django-secret").exists():
        _put_secret(etc / "django-secret", secrets.token_urlsafe(48) + "\n", "the web site's signing key",
                    changes, "vhd-web.service")
    before = (etc / "authority" / "signing-key.pem").read_bytes() if (
        etc / "authority" / "signing-key.pem").exists() else None
    if authority.refresh_signing_key().read_bytes() != before:
        changes.note(f"wrote {etc / 'authority' / 'signing-key.pem'} (the web site signs QR codes with it)",
                     "vhd-web.service")
    # Every table, the declaration database's and the web site's, from the centre's own command.
    r = subprocess.run([str(venv / "bin" / "python"), "-m", "centre.cli", "--db-file", str(etc / "database-url"),
                        "migrate"], capture_output=True, text=True,
                       env={**os.environ, "VHD_CENTRE_HOME": str(etc)}, timeout=600)
    if r.returncode:
        raise CentreError(r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "vhd-centre migrate failed")
    say(r.stdout.strip())
    _units(root, home, venv, changes)
    if not env.get("VHD_SMS_URL"):
        say(f"warning: no SMS gateway yet, so nobody can sign in to the portal: run this again with "
            f"--sms-url URL --sms-token-file FILE (or set VHD_SMS_URL in {etc / ENV_FILE})")
    if not (etc / "broker" / "bridge-password").exists():
        say(f"note: no broker configuration in {etc / 'broker'} yet: run 'vhd-provision broker-config "
            "--hostname ... --install' before starting the bridge")
    system = root == Path("/") and Path("/run/systemd/system").is_dir() and shutil.which("systemctl")
    if system:
        for cmd in (["systemctl", "daemon-reload"], ["systemctl", "enable", "--now", *STARTED]):
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                raise CentreError(f"{' '.join(cmd)} failed: {r.stderr.strip()}")
        say("vhd-bridge.service, vhd-web.service and vhd-retention.timer enabled and running")
    else:
        say(f"systemd left alone; start with: systemctl enable --now {' '.join(STARTED)}")
    running = sorted(changes.restart & {"vhd-bridge.service", "vhd-web.service"})
    if running:
        say(f"to apply the changes to running services: systemctl daemon-reload && systemctl restart "
            f"{' '.join(running)}")
    elif not changes.changed:
        say("nothing changed")
    say(f"next: add the district's users: {venv}/bin/vhd-centre createuser NAME --role district_admin "
        "--password-file FILE")
    return etc / "database-url"
