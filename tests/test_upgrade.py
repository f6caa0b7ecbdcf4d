"""Databases made by earlier releases upgrade in place with their figures unchanged."""

from __future__ import annotations

import sqlite3
import subprocess
from datetime import date
from pathlib import Path

import psycopg
import pytest

from centre.reports.figures import checkpoint_days
from mqtt_bridge.locate import migrate_database
from mqtt_bridge.schema import SCHEMA as BUILT_FOR
from mqtt_bridge.store import open_store
from tests.services import database_url
from tests.upgrade_fixtures import RELEASES, SCHEMA, store_events

DATA = Path(__file__).resolve().parent / "data" / "upgrade"
DAYS = (date(2026, 11, 10), date(2026, 11, 11))


def _figures(url: str) -> list[tuple]:
    store = open_store(url)
    try:
        return [(r.day, r.checkpoint_id, r.check_ins, r.check_outs, r.distinct_people, r.busiest_hour,
                 r.busiest_hour_scans, r.still_inside) for r in checkpoint_days(store, *DAYS)]
    finally:
        store.close()


def _migrate(url: str) -> int:
    """`vhd-centre migrate`, as a technician runs it after an upgrade: how many migrations it applied."""
    said = migrate_database(url)
    return int(said.split()[0])


def _fresh(url: str) -> list[tuple]:
    """The same check-ins stored by this release into an empty database."""
    store_events(url, cwd=Path(__file__).resolve().parent.parent)
    return _figures(url)


def _load_pg(release: str, url: str) -> None:
    """pg_dump's output is a psql script (COPY ... FROM stdin): psql loads it as a technician would."""
    schema = url.rsplit("search_path%3D", 1)[1]
    sql = (DATA / f"{release}.postgresql.sql").read_text().replace(f"{SCHEMA}.", f"{schema}.")
    sql = sql.replace(f"CREATE SCHEMA {SCHEMA};", "").replace(f"'{SCHEMA}'", f"'{schema}'")
    r = subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "-q", database_url()], input=sql, text=True,
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("release", RELEASES)
def test_postgresql_databases_of_earlier_releases_upgrade_with_the_same_figures(release, pg_url, tmp_path):
    _load_pg(release, pg_url)
    assert _migrate(pg_url) >= 1
    upgraded = _figures(pg_url)
    assert sum(r[2] + r[3] for r in upgraded) == 10, upgraded
    assert upgraded == _fresh(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    assert _migrate(pg_url) == 0  # a second run changes nothing
    assert _figures(pg_url) == upgraded
    with psycopg.connect(pg_url) as conn:  # Django's record is the only one left
        assert conn.execute("SELECT to_regclass('schema_migrations')").fetchone()[0] is None
        assert conn.execute("SELECT name FROM django_migrations WHERE app = %s ORDER BY name DESC LIMIT 1",
                            (BUILT_FOR[0],)).fetchone()[0] == BUILT_FOR[1]


@pytest.mark.parametrize("release", RELEASES)
def test_sqlite_databases_of_earlier_releases_upgrade_with_the_same_figures(release, tmp_path):
    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.executescript((DATA / f"{release}.sqlite.sql").read_text())
        # a declaration the portal of that release wrote, in Django's own text for times
        conn.execute("INSERT INTO declarations (declaration_id, full_name, birth_year, sex, declared_at, expires_at) "
                     "VALUES ('VHD-2026-WEB', 'Trần Văn Web', 1990, 'M', '2026-11-10 01:15:00', "
                     "'2026-11-24 01:15:00.250000')")
        # a unit that registered itself on that release's portal
        conn.execute("INSERT INTO checkpoints (checkpoint_id, name, unit) VALUES ('CP-0A1B2C3D', 'Quán Lạ', 'Quán Lạ')")
    url = f"sqlite:///{db}"
    assert _migrate(url) >= 1
    upgraded = [r for r in _figures(url) if r[1] == "CP-U1"]  # the unit added above has zeros
    assert sum(r[2] + r[3] for r in upgraded) == 10, upgraded
    assert upgraded == _fresh(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    with sqlite3.connect(db) as conn:  # every time in the bridge's one form
        assert conn.execute("SELECT declared_at, expires_at FROM declarations WHERE declaration_id = 'VHD-2026-WEB'"
                            ).fetchone() == ("2026-11-10T01:15:00.000Z", "2026-11-24T01:15:00.250Z")
        assert conn.execute("SELECT count(*) FROM checkins WHERE scanned_at NOT LIKE '____-__-__T__:__:__.___Z'"
                            ).fetchone() == (0,)
        # what a technician registered stays trusted; a self-registered unit waits for the district
        assert dict(conn.execute("SELECT checkpoint_id, approved_at IS NOT NULL FROM checkpoints")) == {
            "CP-U1": 1, "CP-0A1B2C3D": 0}


def test_the_bridge_is_built_for_the_newest_schema_migration():
    """mqtt_bridge.schema.SCHEMA names the ledger app's newest migration: a schema change that
    forgets the bridge's SQL fails here, not at a centre."""
    import pkgutil

    import centre.ledger.migrations as ledger

    names = sorted(m.name for m in pkgutil.iter_modules(ledger.__path__) if m.name[0] not in "_~")
    assert (BUILT_FOR[0], names[-1]) == BUILT_FOR
