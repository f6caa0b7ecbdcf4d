"""Backing up and restoring a centre: the declaration database, the centre's folder (the issuer's
keys, the broker's CA and passwords, the site's key, the settings) and the broker plugin's state
(every enrolled gate's login), into one private folder and back."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import time
from pathlib import Path
from urllib.parse import unquote, urlparse, urlsplit, urlunsplit

from common import jsontext
from common.errors import UserError
from common.files import extract_archive, private_dir, private_file, write_private
from provisioning.broker import DYNSEC_STATE

DATABASE_PG = "database.pgdump"
DATABASE_SQLITE = "database.sqlite3"
CENTRE_FILES = "centre.tar.gz"
MANIFEST = "manifest.json"


class BackupError(UserError):
    """A backup or restore cannot go on; the message says why."""


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL for pg_dump's command line, without its password, and the environment that carries
    the password instead (PGPASSWORD): a command line is readable by every user in /proc for as
    long as the dump runs, a process's environment by its own user only."""
    u = urlsplit(url)
    if u.password is None:
        return url, dict(os.environ)
    login, place = u.netloc.rsplit("@", 1)
    bare = urlunsplit(u._replace(netloc=f"{login.split(':', 1)[0]}@{place}"))
    return bare, {**os.environ, "PGPASSWORD": unquote(u.password)}


def _run(argv: list[str], what: str, env: dict[str, str] | None = None) -> None:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=3600, env=env)
    except OSError as exc:
        raise BackupError(f"cannot run {argv[0]} ({exc.strerror}): apt install postgresql-client") from None
    if r.returncode:
        lines = [x for x in r.stderr.strip().splitlines() if x.strip()]
        raise BackupError(f"{what} failed: {lines[-1] if lines else f'exit {r.returncode}'}")


def _sqlite_path(url: str) -> Path | None:
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):])
    return None if urlparse(url).scheme.startswith("postgres") else Path(url)


def backup(url: str, etc: Path, mosquitto_state: Path, out: Path, say=print) -> Path:
    """Everything a centre needs to come back, in `out` (a new private folder); its path."""
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"{out} is not empty: give a new folder")
    private_dir(out)
    sqlite = _sqlite_path(url)
    if sqlite is not None:
        if not sqlite.is_file():
            raise BackupError(f"no database at {sqlite}")
        with sqlite3.connect(f"{sqlite.resolve().as_uri()}?mode=ro", uri=True) as src, \
                sqlite3.connect(out / DATABASE_SQLITE) as dst:
            src.backup(dst)  # a consistent copy while the bridge writes
        os.chmod(out / DATABASE_SQLITE, 0o600)
        say(f"database: {out / DATABASE_SQLITE}")
    else:
        # custom format: one file, restorable table by table; consistent while the bridge writes
        dbname, env = _libpq(url)
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={out / DATABASE_PG}",
              f"--dbname={dbname}"], "pg_dump", env)
        os.chmod(out / DATABASE_PG, 0o600)
        say(f"database: {out / DATABASE_PG}")
    fd = os.open(out / CENTRE_FILES, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh, tarfile.open(fileobj=fh, mode="w:gz") as tar:
        if etc.is_dir():
            tar.add(etc, arcname="centre")
        if mosquitto_state.is_file():
            tar.add(mosquitto_state, arcname=f"mosquitto/{DYNSEC_STATE}")
    say(f"keys, secrets, settings and the broker's gate logins: {out / CENTRE_FILES}")
    (out / MANIFEST).write_text(json.dumps({"made": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                            "database": "sqlite" if sqlite is not None else "postgresql",
                                            "centre": str(etc), "mosquitto_state": str(mosquitto_state)},
                                           indent=1) + "\n")
    os.chmod(out / MANIFEST, 0o600)
    return out


def restore(source: Path, url: str, etc: Path, mosquitto_state: Path, say=print) -> None:
    """A backup put back: the centre's folder and the broker's state first, then the database
    (replaced whole). The services are the caller's to stop before and start after."""
    try:
        manifest = jsontext.loads((source / MANIFEST).read_text())
    except (OSError, ValueError):
        raise BackupError(f"{source} is not a backup made by 'vhd-provision centre backup'") from None
    staging = source / ".restoring"
    shutil.rmtree(staging, ignore_errors=True)
    extract_archive(source / CENTRE_FILES, staging, "a centre backup", tops=("centre", "mosquitto"))
    try:
        if (staging / "centre").is_dir():
            # This server's own database login stays: a new server made its own with `centre install`.
            here = (etc / "database-url").read_bytes() if (etc / "database-url").is_file() else None
            etc.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(staging / "centre", etc, dirs_exist_ok=True)
            if here is not None:
                write_private(etc / "database-url", here)
            os.chmod(etc, 0o700)
            say(f"restored {etc}")
        state = staging / "mosquitto" / DYNSEC_STATE
        if state.is_file():
            mosquitto_state.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(state, mosquitto_state)
            os.chmod(mosquitto_state, 0o600)
            try:
                shutil.chown(mosquitto_state, "mosquitto", "mosquitto")
            except (LookupError, PermissionError):
                pass  # no broker user here (a staging tree)
            say(f"restored {mosquitto_state} (every enrolled gate's login)")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    sqlite = _sqlite_path(url)
    if manifest.get("database") == "sqlite":
        if sqlite is None:
            raise BackupError("the backup holds a SQLite database but the centre's URL is PostgreSQL")
        sqlite.parent.mkdir(parents=True, exist_ok=True)
        private_file(sqlite)  # before SQLite makes it, and its journal, with the umask's mode
        with sqlite3.connect(source / DATABASE_SQLITE) as src, sqlite3.connect(sqlite) as dst:
            src.backup(dst)
    else:
        if sqlite is not None:
            raise BackupError("the backup holds a PostgreSQL database but the centre's URL is SQLite")
        dbname, env = _libpq(url)
        _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
              f"--dbname={dbname}", str(source / DATABASE_PG)], "pg_restore", env)
    say("database restored")
