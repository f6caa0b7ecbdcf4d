"""Reports, contact tracing and retention on real databases (PostgreSQL and SQLite)."""

import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from centre.reports.figures import TZ, checkpoint_days, render, unit_days
from centre.reports.retention import purge
from centre.reports.tracing import trace
from mqtt_bridge.cli import main as bridge_cli
from mqtt_bridge.locate import migrate_database
from mqtt_bridge.store import StoreError, open_store
from protocol.event import Event, format_time, uuid7
from tests.services import pg_schema

DAY = date(2021, 9, 15)


def at(hh, mm, day=DAY):
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


def ev(n, subject, direction, when, cp="CP-A", device="gate-a", kind="vhd"):
    return Event.from_dict(dict(
        event_id=uuid7(int(when.timestamp() * 1000), n.to_bytes(10, "big")), device_id=device, checkpoint_id=cp,
        direction=direction, kind=kind, subject=subject, display_name=f"Người {subject}",
        scanned_at=format_time(when), mono_ns=n, boot_id="b", time_synced=True, firmware="0.1.0"))


SCANS = [
    # Anh (declaration, also the card 079203001234) at A 08:00-10:00.
    ("VHD-ANH", "in", at(8, 0), "CP-A"), ("VHD-ANH", "out", at(10, 0), "CP-A"),
    # Binh at A 09:00-09:30: 30 min with Anh.
    ("VHD-BINH", "in", at(9, 0), "CP-A"), ("VHD-BINH", "out", at(9, 30), "CP-A"),
    # Chau at A 09:45, never checks out: inside until 13:45 (4 h): 15 min with Anh.
    ("VHD-CHAU", "in", at(9, 45), "CP-A"),
    # Dung at A 10:30-11:00: after Anh left, no contact.
    ("VHD-DUNG", "in", at(10, 30), "CP-A"), ("VHD-DUNG", "out", at(11, 0), "CP-A"),
    # Anh's card at B 14:00-15:00 with Em 14:30-16:00 (30 min).
    ("079203001234", "in", at(14, 0), "CP-B"), ("079203001234", "out", at(15, 0), "CP-B"),
    ("VHD-EM", "in", at(14, 30), "CP-B"), ("VHD-EM", "out", at(16, 0), "CP-B"),
    # Binh at B the next day: outside the period traced.
    ("VHD-BINH", "in", at(14, 10, DAY + timedelta(days=1)), "CP-B"),
]


@pytest.fixture(params=["postgresql", "sqlite"])
def store(request, tmp_path):
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else f"sqlite:///{tmp_path}/c.db"
    migrate_database(url)  # what `vhd-centre migrate` does at install
    s = open_store(url)
    s.add_checkpoint("CP-A", "Trường A", unit="Phường 1")
    s.add_checkpoint("CP-B", "Chợ B", unit="Phường 1")
    s.add_device("gate-a", "CP-A")
    s.add_device("gate-b", "CP-B")
    s.add_declaration({"declaration_id": "VHD-ANH", "full_name": "Nguyễn Thị Vân Anh",
                       "citizen_id": "079203001234", "birth_year": 1990, "sex": "F"})
    s.insert_checkins([ev(i, subj, d, t, cp, "gate-a" if cp == "CP-A" else "gate-b")
                       for i, (subj, d, t, cp) in enumerate(SCANS)])
    s.url = url
    yield s
    s.close()


def test_checkpoint_day_report(store):
    rows = {r.checkpoint_id: r for r in checkpoint_days(store, DAY, DAY)}
    a, b = rows["CP-A"], rows["CP-B"]
    assert (a.gates, b.gates) == (1, 1)
    assert (a.check_ins, a.check_outs, a.distinct_people, a.still_inside) == (4, 3, 4, 1)
    assert a.busiest_hour == "09:00-10:00" and a.busiest_hour_scans == 3
    assert (b.check_ins, b.check_outs, b.distinct_people, b.still_inside) == (2, 2, 2, 0)
    (unit,) = unit_days(store, DAY, DAY)
    # Anh's QR at A and Anh's card at B are one person: five people, not six.
    assert (unit.unit, unit.checkpoints, unit.check_ins, unit.distinct_people) == ("Phường 1", 2, 6, 5)
    csv_text = render(list(rows.values()), "csv")
    assert csv_text.splitlines()[0].startswith("day,checkpoint_id,checkpoint_name,unit,check_ins")
    assert "Trường A" in csv_text


def test_one_person_one_stay_and_zero_rows(store):
    """A stay opened with the card and closed with the same person's QR is closed; checkpoints,
    units and gates with no scans are listed with zeros, and a gate not heard from says so."""
    later = DAY + timedelta(days=2)
    store.insert_checkins([ev(100, "079203001234", "in", at(9, 0, later), kind="cccd"),
                           ev(101, "VHD-ANH", "out", at(11, 0, later))])
    store.add_checkpoint("CP-C", "Quán C", unit="Phường 2")
    store.add_device("gate-c", "CP-C")
    rows = {(r.day, r.checkpoint_id): r for r in checkpoint_days(store, later, later)}
    a = rows[(later.isoformat(), "CP-A")]
    assert (a.check_ins, a.check_outs, a.distinct_people, a.still_inside) == (1, 1, 1, 0)
    quiet = rows[(later.isoformat(), "CP-C")]
    assert (quiet.check_ins, quiet.distinct_people, quiet.gates, quiet.gates_silent) == (0, 0, 1, 1)
    assert rows[(later.isoformat(), "CP-B")].check_ins == 0
    both_days = checkpoint_days(store, DAY, DAY + timedelta(days=1), "CP-C")
    assert [(r.day, r.check_ins) for r in both_days] == [(DAY.isoformat(), 0),
                                                         ((DAY + timedelta(days=1)).isoformat(), 0)]
    units = {u.unit: u for u in unit_days(store, later, later)}
    assert (units["Phường 2"].checkpoints, units["Phường 2"].check_ins, units["Phường 2"].gates_silent) == (1, 0, 1)
    assert (units["Phường 1"].distinct_people, units["Phường 1"].still_inside) == (1, 0)


def test_a_late_arriving_earlier_scan_does_not_reopen_a_stay(store):
    """A gate that was offline delivers its morning check-in after the evening check-out: the
    check-out is still the last word (PostgreSQL's rollups and SQLite's count agree)."""
    later = DAY + timedelta(days=3)
    store.insert_checkins([ev(200, "VHD-GIANG", "out", at(17, 0, later))])
    store.insert_checkins([ev(201, "VHD-GIANG", "in", at(8, 0, later))])
    rows = {r.checkpoint_id: r for r in checkpoint_days(store, later, later)}
    assert (rows["CP-A"].check_ins, rows["CP-A"].check_outs, rows["CP-A"].still_inside) == (1, 1, 0)
    if store.dialect == "postgresql":
        before = checkpoint_days(store, DAY, later)
        store.rebuild_rollups()  # counted again from the check-ins: the same figures
        assert checkpoint_days(store, DAY, later) == before


def test_trace_finds_overlaps_across_ids_and_open_stays(store):
    start, end = at(0, 0), at(0, 0, DAY + timedelta(days=1))
    visits, contacts = trace(store, "079203001234", start, end)
    assert {(v.checkpoint_id, v.start.astimezone(TZ).hour) for v in visits} == {("CP-A", 8), ("CP-B", 14)}
    got = {(c.subject, c.checkpoint_id): c.overlap_minutes for c in contacts}
    assert got == {("VHD-BINH", "CP-A"): 30.0, ("VHD-EM", "CP-B"): 30.0, ("VHD-CHAU", "CP-A"): 15.0}
    # A shorter maximum stay shortens Chau's open stay: 09:45 + 10 min ends before Anh left.
    _, short = trace(store, "VHD-ANH", start, end, max_stay=timedelta(minutes=10))
    assert {c.subject: c.overlap_minutes for c in short}["VHD-CHAU"] == 10.0


def test_report_and_trace_commands(store, capsys):
    assert bridge_cli(["report", "--db", store.url, "--from", "2021-09-15", "--format", "json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {x["checkpoint_id"] for x in lines} == {"CP-A", "CP-B"}
    assert bridge_cli(["report", "--db", store.url, "--from", "2021-09-15", "--by", "unit"]) == 0
    assert "Phường 1" in capsys.readouterr().out
    assert bridge_cli(["trace", "VHD-BINH", "--db", store.url, "--from", "2021-09-15"]) == 0
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    contacts = {x["subject"] for x in out if x["type"] == "contact"}
    assert contacts == {"079203001234"}  # Anh, by her card's id; Binh was not at B that day
    assert bridge_cli(["report", "--db", store.url, "--from", "15/09/2021"]) == 1


def test_retention_deletes_old_checkins_and_expired_declarations(store):
    store.add_declaration({"declaration_id": "VHD-OLD", "full_name": "Cũ", "birth_year": 1980, "sex": "M",
                           "expires_at": "2021-08-01T00:00:00.000Z"})
    now = datetime(2021, 10, 7, 0, 0, tzinfo=UTC)  # cutoff: 16 September 00:00 UTC
    p = purge(store, checkin_days=21, declaration_days=30, now=now)
    assert (p.checkins, p.partitions_dropped, p.declarations) == (11, 0, 1)  # September's partition stays
    left = [c.subject for c in store.checkins()]
    assert left == ["VHD-BINH"]  # only the scan of the 16th is within 21 days
    assert [d["declaration_id"] for d in store.query("SELECT declaration_id FROM declarations")] == ["VHD-ANH"]
    later = purge(store, checkin_days=21, now=datetime(2021, 11, 1, tzinfo=UTC))
    assert later.checkins + later.partitions_dropped >= 1 and store.count_checkins() == 0
    if store.dialect == "postgresql":
        assert later.partitions_dropped == 1 and later.checkins == 0  # dropped whole, no row deletes


def test_a_declaration_deleted_while_valid_is_listed_until_its_qr_would_expire(store):
    """Whoever deletes a declaration (the portal, an operator in SQL), the database lists it while its
    QR would be valid, for the gates to refuse; one deleted after its expiry is not listed, and
    retention forgets an entry once its QR has expired."""
    now = datetime.now(UTC)
    for decl, days in (("VHD-LIVE", 14), ("VHD-LONG", 60), ("VHD-DONE", -1)):
        store.add_declaration({"declaration_id": decl, "full_name": "Người Dân", "birth_year": 1990, "sex": "F",
                               "expires_at": format_time(now + timedelta(days=days))})
    assert store.execute("DELETE FROM declarations WHERE declaration_id IN ('VHD-LIVE', 'VHD-LONG', 'VHD-DONE')") == 3
    assert store.deleted_declarations(now, 100) == ["VHD-LIVE", "VHD-LONG"]
    assert store.deleted_declarations(now + timedelta(days=15), 100) == ["VHD-LONG"]
    purge(store, now=now + timedelta(days=15))
    assert [r["declaration_id"] for r in store.query("SELECT declaration_id FROM deleted_declarations")] == ["VHD-LONG"]


def test_csv_cells_that_would_start_a_formula_are_kept_as_text():
    """A unit named "=HYPERLINK(...)" or a display name "@SUM(...)" opens as text in a spreadsheet."""
    import csv
    import io

    from common.csvtext import csv_text

    text = csv_text(["name", "n"], [["=HYPERLINK(\"http://x\")", 3], ["+1", 0], ["-2", -2], ["@A1", 1],
                                    ["\tx", 1], ["Chợ Bến Thành", 2]])
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert [r[0] for r in rows] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@A1", "'\tx", "Chợ Bến Thành"]
    assert [r[1] for r in rows] == ["3", "0", "-2", "1", "1", "2"]  # numbers stay numbers


def _reference(scans: list[tuple], citizen_of: dict[str, str]) -> dict:
    """The checkpoint-day figures counted the plain way, from the scans themselves in time order:
    the oracle both databases' rollups must agree with."""
    from collections import Counter, defaultdict

    per: dict = defaultdict(lambda: {"in": 0, "out": 0, "hours": Counter(), "last": {}})
    for subject, direction, when, cp in sorted(scans, key=lambda s: s[2]):
        local = when.astimezone(TZ)
        b = per[(local.date().isoformat(), cp)]
        b[direction] += 1
        b["hours"][local.hour] += 1
        b["last"][citizen_of.get(subject, subject)] = direction
    out = {}
    for key, b in per.items():
        hour, n = min(b["hours"].items(), key=lambda kv: (-kv[1], kv[0]))
        out[key] = (b["in"], b["out"], len(b["last"]), f"{hour:02d}:00-{hour + 1:02d}:00", n,
                    sum(d == "in" for d in b["last"].values()))
    return out


def test_figures_are_equal_on_both_databases_and_to_a_plain_count(pg_url, tmp_path):
    """Four days of scans at three checkpoints, around Vietnam's midnight, arriving in shuffled
    batches with repeats (a gate resending) and late earlier scans: both databases' reports equal
    each other and a plain count of the scans, and the live page's rollup rows agree."""
    import random

    rng = random.Random(2021)
    start = datetime(2021, 9, 14, 16, 30, tzinfo=UTC)  # 23:30 in Vietnam
    people = [f"VHD-P{i:02d}" for i in range(25)] + ["079203001234"]
    scans = [(rng.choice(people), rng.choice(["in", "in", "out"]),
              start + timedelta(minutes=rng.randrange(0, 4 * 24 * 60)), rng.choice(["CP-A", "CP-B", "CP-C"]))
             for _ in range(400)]
    events = [ev(i, *s[:3], cp=s[3], device={"CP-A": "gate-a", "CP-B": "gate-b", "CP-C": "gate-c"}[s[3]])
              for i, s in enumerate(scans)]
    batches = [events[i:i + 37] for i in range(0, len(events), 37)]
    rng.shuffle(batches)
    citizen_of = {"VHD-P00": "079203001234"}
    reports, rollups = [], []
    with pg_schema() as one_by_one:  # a third database, written one event at a time: a web check-in's way
        for url in (pg_url, f"sqlite:///{tmp_path / 'c.db'}", one_by_one):
            migrate_database(url)
            s = open_store(url)
            for cp, unit in (("CP-A", "Phường 1"), ("CP-B", "Phường 1"), ("CP-C", "")):
                s.add_checkpoint(cp, cp, unit=unit)
                s.add_device(f"gate-{cp[-1].lower()}", cp)
            s.add_declaration({"declaration_id": "VHD-P00", "full_name": "Nguyễn Văn P",
                               "citizen_id": "079203001234", "birth_year": 1990, "sex": "M"})
            if url == one_by_one:  # each event on its own, in the same shuffled order
                stored = sum(s.insert_checkins([e]) for b in batches for e in b)
                assert s.insert_checkins([batches[0][0]]) == 0
            else:
                stored = sum(s.insert_checkins(b) for b in batches)
            assert stored == len(events) and s.insert_checkins(batches[0]) == 0  # a resend changes nothing
            first, last = date(2021, 9, 14), date(2021, 9, 19)
            rows = checkpoint_days(s, first, last)
            reports.append((rows, unit_days(s, first, last)))
            got = {(r.day, r.checkpoint_id): (r.check_ins, r.check_outs, r.distinct_people, r.busiest_hour,
                                              r.busiest_hour_scans, r.still_inside)
                   for r in rows if r.check_ins + r.check_outs}
            assert got == _reference(scans, citizen_of)
            if url in (pg_url, one_by_one):  # the same rollup rows, however the events came
                rollups.append([s.query(f"SELECT * FROM {t} ORDER BY 1, 2, 3")
                                for t in ("checkin_hourly", "checkin_people", "checkin_daily")])
            s.close()
    assert reports[0] == reports[1] == reports[2] and rollups[0] == rollups[1]
    assert {u.unit for u in reports[0][1]} == {"Phường 1", "(none)"}



_RECOUNT = ("SELECT day, checkpoint_id, count(*) AS people, sum(CASE WHEN last_direction = 'in' THEN 1 ELSE 0 END) "
            "AS inside FROM checkin_people GROUP BY day, checkpoint_id ORDER BY day, checkpoint_id")


def _daily(store) -> list[tuple]:
    return [(str(r["day"])[:10], r["checkpoint_id"], int(r["people"]), int(r["inside"])) for r in store.query(
        "SELECT day, checkpoint_id, people, inside FROM checkin_daily WHERE people > 0 ORDER BY day, checkpoint_id")]


def test_the_daily_people_rollup_is_a_recount_after_inserts_turns_rebuilds_and_retention(store):
    """checkin_daily (the reports' people and still inside per checkpoint and day) is kept by the
    database's triggers: equal to counting checkin_people again after scans that turn a direction,
    a late earlier scan that must not, a rebuild and a retention run."""
    recount = lambda: [(str(r["day"])[:10], r["checkpoint_id"], int(r["people"]), int(r["inside"]))  # noqa: E731
                       for r in store.query(_RECOUNT)]
    assert _daily(store) == recount() and len(recount()) == 3
    later = DAY + timedelta(days=1)
    store.insert_checkins([ev(300, "VHD-BINH", "out", at(18, 0, later), "CP-B", "gate-b"),  # turned
                           ev(301, "VHD-EM", "in", at(9, 0, later), "CP-B", "gate-b")])
    store.insert_checkins([ev(302, "VHD-BINH", "in", at(7, 0, later), "CP-B", "gate-b")])  # late: out stays
    assert _daily(store) == recount()
    assert (_daily(store)[-1][2:]) == (2, 1)
    store.rebuild_rollups()
    assert _daily(store) == recount()
    purge(store, checkin_days=21, now=datetime(2021, 10, 7, 0, 0, tzinfo=UTC))  # keeps the 16th only
    assert _daily(store) == recount() == [(later.isoformat(), "CP-B", 2, 1)]


def test_the_daily_people_rollup_stays_exact_under_concurrent_writers(pg_url):
    """Four stores writing overlapping batches at once (bridges and web processes on one
    PostgreSQL): the same people at the same checkpoints, directions turning both ways, every
    batch in its own transaction. The rollup equals the recount and a plain count of the scans."""
    import random
    import threading

    migrate_database(pg_url)
    rng = random.Random(19)
    start = datetime(2021, 9, 15, 1, 0, tzinfo=UTC)
    scans = [(f"VHD-P{rng.randrange(30):02d}", rng.choice(["in", "out"]),
              start + timedelta(seconds=rng.randrange(36000)), rng.choice(["CP-A", "CP-B"])) for _ in range(1200)]
    events = [ev(i, *s[:3], cp=s[3]) for i, s in enumerate(scans)]
    batches = [events[i:i + 25] for i in range(0, len(events), 25)]
    stores = [open_store(pg_url) for _ in range(4)]
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for b in batches[k::4]:
                for attempt in range(20):  # a deadlock or serialisation failure is transient: sent again
                    try:
                        stores[k].insert_checkins(b)
                        break
                    except StoreError:
                        if attempt == 19:
                            raise
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and stores[0].count_checkins() == len(events)
    last: dict[tuple, tuple] = {}
    for subject, direction, when, cp in sorted(scans, key=lambda s: s[2]):
        last[(when.astimezone(TZ).date().isoformat(), cp, subject)] = direction
    expected = sorted({(d, cp) for d, cp, _ in last})
    plain = [(d, cp, sum(1 for k in last if k[:2] == (d, cp)),
              sum(1 for k, v in last.items() if k[:2] == (d, cp) and v == "in")) for d, cp in expected]
    assert _daily(stores[0]) == plain
    for s in stores:
        s.close()


_REPORT_ON_THE_SITE = r"""
import json, sys, django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
from centre.ledger.models import CheckinHour
from centre.reports import replica
day = sys.argv[1]
user, _ = get_user_model().objects.get_or_create(username="replica-admin", is_superuser=True, is_staff=True)
client = Client()
client.force_login(user)
page = client.get(f"/reports/?date_from={day}&date_to={day}").content.decode()
source = replica.reading()
row = next(r for r in page.split("<tr>") if "CP-A" in r)
print(json.dumps({"alias": source.alias, "lag": source.lag_s, "fallback": source.fallback,
                  "rollups_from": CheckinHour.objects.all().db, "row": row,
                  "note": page.split('id="source">', 1)[1].split("</p>", 1)[0] if 'id="source"' in page else ""}))
"""


def test_reports_read_a_streaming_replica_within_the_lag_they_accept_else_the_primary(pg_replica, django_script):
    """With VHD_CENTRE_REPLICA_DB set, the district's report reads a real streaming replica (its
    rollups routed there by the site's database router) and says how far behind it is; with
    the replica's replay paused it shows the replica's older figure while within the accepted
    lag, the primary's beyond it, and the primary's when the replica is down."""
    import psycopg

    migrate_database(pg_replica.primary)
    s = open_store(pg_replica.primary)
    s.add_checkpoint("CP-A", "Trường A", unit="Phường 1")
    s.add_device("gate-a", "CP-A")
    at_a = [ev(i, subj, d, t, cp) for i, (subj, d, t, cp) in enumerate(SCANS) if cp == "CP-A"]
    s.insert_checkins(at_a)
    day = str(DAY)

    def replayed(n: int) -> bool:
        with psycopg.connect(pg_replica.replica, autocommit=True) as r:
            return r.execute("SELECT count(*) FROM checkins").fetchone()[0] == n

    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while not replayed(len(at_a)):
        assert datetime.now(UTC) < deadline, "the replica never replayed the check-ins"
        time.sleep(0.1)
    site = {"db": pg_replica.primary, "VHD_CENTRE_REPLICA_DB": pg_replica.replica}
    out = django_script(_REPORT_ON_THE_SITE, day, **site)
    assert (out["alias"], out["rollups_from"], out["fallback"]) == ("replica", "replica", False)
    assert ">4<" in out["row"] and "bản sao" in out["note"]  # four check-ins at A, read on the replica
    with psycopg.connect(pg_replica.replica, autocommit=True) as r:
        r.execute("SELECT pg_wal_replay_pause()")
    s.insert_checkins([ev(100, "VHD-GIANG", "in", at(11, 0), "CP-A")])
    while not psycopg.connect(pg_replica.replica, autocommit=True).execute(
            "SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()").fetchone()[0]:
        assert datetime.now(UTC) < deadline + timedelta(seconds=30), "the replica received nothing"
        time.sleep(0.1)
    behind = django_script(_REPORT_ON_THE_SITE, day, **site, VHD_CENTRE_REPLICA_MAX_LAG="3600")
    assert behind["alias"] == "replica" and behind["lag"] > 0 and ">4<" in behind["row"]  # the older figure
    fresh = django_script(_REPORT_ON_THE_SITE, day, **site, VHD_CENTRE_REPLICA_MAX_LAG="0")
    assert (fresh["alias"], fresh["fallback"]) == ("default", True) and ">5<" in fresh["row"]
    assert "máy chính" in fresh["note"]
    pg_replica.stop_replica()
    down = django_script(_REPORT_ON_THE_SITE, day, **site)
    assert (down["alias"], down["fallback"], down["rollups_from"]) == ("default", True, "default")
    assert ">5<" in down["row"]
    s.close()
