"""Where the centre's secrets are: a file given, a systemd credential, or the centre's folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from common.files import read_secret
from mqtt_bridge.store import StoreError

DB_FILE = "database-url"


def secret_path(name: str) -> Path:
    """A secret's file: as given when absolute, else a systemd credential of that name, else in
    the centre's folder ($VHD_CENTRE_HOME, /etc/vhd-centre)."""
    path = Path(name)
    if path.is_absolute() or path.exists():
        return path
    for folder in (os.environ.get("CREDENTIALS_DIRECTORY"), os.environ.get("VHD_CENTRE_HOME") or "/etc/vhd-centre"):
        if folder and (Path(folder) / name).exists():
            return Path(folder) / name
    return path


def find_database_url(db: str | None, db_file: str | None) -> str:
    """--db, else the file --db-file names, else the `database-url` credential or file: a URL with
    a password never has to stand on a command line, where every user can read it in /proc."""
    if db:
        return db
    path = secret_path(db_file or DB_FILE)
    try:
        url = read_secret(path)
    except ValueError as exc:
        raise StoreError(f"the database URL file: {exc}", transient=False) from None
    except PermissionError:
        raise StoreError(f"cannot read {path}: permission denied (it holds the database's password: "
                         "run this with sudo)", transient=False) from None
    except OSError as exc:
        if db_file:
            raise StoreError(f"cannot read --db-file {db_file}: {exc.strerror}", transient=False) from None
        raise StoreError(f"no database given: use --db URL, --db-file FILE, or put the URL in "
                         f"/etc/vhd-centre/{DB_FILE}", transient=False) from None
    if not url:
        raise StoreError(f"{path} is empty", transient=False)
    return url


def run_centre(url: str, argv: list[str], timeout: float | None = None) -> subprocess.CompletedProcess:
    """`vhd-centre ARGV` on the database at `url`, the URL handed over a pipe: on the child's
    command line (`--db URL`) every user of the machine could read its password in /proc."""
    return subprocess.run([sys.executable, "-m", "centre.cli", "--db-file", "/dev/stdin", *argv], input=url,
                          capture_output=True, text=True, timeout=timeout)


def migrate_database(url: str) -> str:
    """`vhd-centre migrate` on the database at `url`, for a program that is not the site
    (provisioning, the demo, the benches): the site's Django migrations own every table, so they
    make it. Returns what it printed; a failure is a StoreError with its one-line reason."""
    r = run_centre(url, ["migrate"], timeout=600)
    if r.returncode:
        lines = (r.stderr or r.stdout).strip().splitlines()
        raise StoreError(lines[-1] if lines else f"vhd-centre migrate failed ({r.returncode})", transient=False)
    return r.stdout.strip()
