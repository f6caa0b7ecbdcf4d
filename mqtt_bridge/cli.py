"""`vhd-bridge`: run the central bridge, manage the declaration database, list what landed."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import signal
import sys
import threading

from common.args import number_in
from common.errors import run_command
from common.files import read_secret
from drivers.mqtt import BrokerUrl, MqttError
from mqtt_bridge.locate import DB_FILE, find_database_url, migrate_database, run_centre, secret_path
from mqtt_bridge.schema import SCHEMA
from mqtt_bridge.store import StoreError, open_store
from protocol.event import RETENTION_DAYS


def database_url(args) -> str:
    return find_database_url(args.db, getattr(args, "db_file", None))


def _store(url: str):
    """The database, as this bridge was built for it (a command that reads or adds to a database
    never leaves a new empty one where a path was mistyped)."""
    return _built_for(open_store(url, create=False))


def _built_for(store):
    """The store, if its schema is the one this bridge was built for; the ingest's hot path writes
    raw SQL, so it never guesses at another version (as piwheels' master refuses to)."""
    have = store.schema_migrations()
    if SCHEMA[1] not in have:
        store.close()
        raise StoreError(f"the database's schema is older than this bridge (it needs migration "
                         f"{'.'.join(SCHEMA)}): run 'vhd-centre migrate' (it upgrades in place), then try again",
                         transient=False)
    newer = [name for name in have if name > SCHEMA[1]]
    if newer:
        store.close()
        raise StoreError(f"the database's schema is newer than this bridge knows ({SCHEMA[0]}.{newer[-1]}): "
                         "upgrade this bridge's software", transient=False)
    return store


def _password(args) -> str | None:
    if not args.password_file:
        return None
    path = secret_path(args.password_file)
    try:
        return read_secret(path)
    except OSError as exc:
        raise MqttError(f"cannot read password file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise MqttError(f"password file: {exc}") from None


def cmd_run(args) -> int:
    from mqtt_bridge.bridge import Bridge

    try:
        url = BrokerUrl.parse(args.broker)
    except ValueError as exc:
        raise MqttError(str(exc)) from None
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    store = _wait_for_store(args.db, stop)
    if store is None:
        return 0
    from common.notify import Notifier

    notifier = Notifier()
    link = Bridge.link_for(url, args.client_id, args.username, _password(args), args.ca_file)
    bridge = Bridge(store, link, on_progress=notifier.progress, group=args.group)
    if args.metrics:
        from mqtt_bridge.metrics import serve_metrics

        serve_metrics(bridge, args.metrics)
        logging.getLogger(__name__).info("metrics on http://%s/metrics", args.metrics)
    logging.getLogger(__name__).info("bridge: %s -> %s database", url, store.dialect)
    notifier.ready(f"ingesting from {url} into {store.dialect}")
    try:
        bridge.run(stop)
    finally:
        notifier.stopping()
        store.close()
    return 0


def _wait_for_store(url: str, stop: threading.Event, first: float = 0.5, most: float = 30.0):
    """The migrated store, waiting with backoff while the database cannot be reached (a centre
    whose database starts after the bridge, or is down for maintenance); None if stopped first."""
    log = logging.getLogger(__name__)
    delay, said = first, False
    while not stop.is_set():
        try:
            store = _built_for(open_store(url, create=False))
            if said:
                log.info("database reachable; starting")
            return store
        except StoreError as exc:
            if not exc.transient:
                raise
            log.warning("waiting for the database (retry in %.0f s): %s", delay, exc)
            said = True
        stop.wait(delay)
        delay = min(delay * 2, most)
    return None


def _moved(args, name: str, argv: list[str]) -> int:
    """A command that moved to the centre (`vhd-centre NAME`), run there for one more release: the
    bridge ingests and nothing else."""
    print(f"vhd-bridge: note: '{name}' has moved to 'vhd-centre {name}'; this name goes in the next release",
          file=sys.stderr)
    r = run_centre(args.db, [name, *argv])
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    return r.returncode


def cmd_report(args) -> int:
    argv = ["--by", args.by, "--format", args.format]
    for option, value in (("--from", args.date_from), ("--to", args.date_to), ("--checkpoint", args.checkpoint)):
        argv += [option, value] if value else []
    return _moved(args, "report", argv)


def cmd_trace(args) -> int:
    # vhd-centre trace is audited and asks who and why; this old name never did, so it says who ran it
    argv = [args.person, "--from", args.date_from, "--max-stay-hours", str(args.max_stay_hours),
            "--by", args.by or f"{getpass.getuser()} (vhd-bridge trace)",
            "--reason", args.reason or "(no reason given: vhd-bridge trace)"]
    return _moved(args, "trace", argv + (["--to", args.date_to] if args.date_to else []))


def cmd_retention(args) -> int:
    argv = ["--days", str(args.days), "--declaration-days", str(args.declaration_days)]
    return _moved(args, "retention", argv + ["--dry-run"] * args.dry_run + ["--force"] * args.force)


def cmd_migrate(args) -> int:
    print("vhd-bridge migrate is now vhd-centre migrate (this name goes in the next release)", file=sys.stderr)
    print(migrate_database(args.db))
    return 0


def cmd_events(args) -> int:
    store = _store(args.db)
    try:
        for c in store.checkins(args.limit):
            print(json.dumps({"event_id": c.event_id, "device_id": c.device_id,
                              "checkpoint_id": c.checkpoint_id, "subject": c.subject,
                              "direction": c.direction, "scanned_at": c.scanned_at}, ensure_ascii=False))
    finally:
        store.close()
    return 0


def cmd_devices(args) -> int:
    store = _store(args.db)
    try:
        for row in store.device_rows():
            print(json.dumps(row, default=str, ensure_ascii=False))
    finally:
        store.close()
    return 0


def cmd_removed(args) -> int:
    """Old commands that registered checkpoints and gates without their poster or broker login."""
    raise StoreError(f"'vhd-bridge {args.command}' is gone: it registered without "
                     f"{'a poster' if args.command == 'add-checkpoint' else 'a broker login'}; use "
                     f"'vhd-provision {'checkpoint add' if args.command == 'add-checkpoint' else 'device enroll'}'",
                     transient=False)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vhd-bridge", description="VHD Gate central bridge")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="ingest gate events from the broker into the database")
    r.add_argument("--broker", required=True, help="mqtt://host:port or mqtts://host:port")
    r.add_argument("--db", help="postgresql://... or sqlite:///file.db (better: a file, see --db-file)")
    r.add_argument("--group", default="vhd-bridge", help="shared subscription group")
    r.add_argument("--client-id")
    r.add_argument("--username")
    r.add_argument("--password-file")
    r.add_argument("--ca-file")
    r.add_argument("--metrics", help="Prometheus metrics on HOST:PORT/metrics, e.g. 127.0.0.1:9108")
    r.set_defaults(func=cmd_run)

    rp = sub.add_parser("report", help="check-ins per checkpoint and day, or per unit (CSV or JSON)")
    rp.add_argument("--db")
    rp.add_argument("--from", dest="date_from", help="first day, YYYY-MM-DD (default today)")
    rp.add_argument("--to", dest="date_to", help="last day (default: the first)")
    rp.add_argument("--checkpoint")
    rp.add_argument("--by", choices=["checkpoint", "unit"], default="checkpoint")
    rp.add_argument("--format", choices=["csv", "json"], default="csv")
    rp.set_defaults(func=cmd_report)

    tr = sub.add_parser("trace", help="contacts of a person (declaration id or citizen id)")
    tr.add_argument("person")
    tr.add_argument("--db")
    tr.add_argument("--from", dest="date_from", required=True)
    tr.add_argument("--to", dest="date_to")
    tr.add_argument("--by", help="who asks (kept in the audit log; default: this login)")
    tr.add_argument("--reason", help="why (kept in the audit log)")
    tr.add_argument("--max-stay-hours", type=number_in(float, 0.25, 24), default=4.0,
                    help="how long someone without a check-out counts as inside (capped at the day's end)")
    tr.set_defaults(func=cmd_trace)

    rt = sub.add_parser("retention", help="delete old check-ins and expired declarations")
    rt.add_argument("--db")
    rt.add_argument("--days", type=number_in(int, 0, 3650), default=RETENTION_DAYS)
    rt.add_argument("--declaration-days", type=number_in(int, 0, 3650), default=30,
                    help="days after a declaration expires")
    rt.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")
    rt.add_argument("--force", action="store_true", help="allow a window shorter than 14 days")
    rt.set_defaults(func=cmd_retention)

    m = sub.add_parser("migrate", help="(moved: vhd-centre migrate) create or upgrade the database schema")
    m.add_argument("--db")
    m.set_defaults(func=cmd_migrate)

    e = sub.add_parser("events", help="stored check-ins as JSON lines")
    e.add_argument("--db")
    e.add_argument("--limit", type=number_in(int, 1, 10_000_000))
    e.set_defaults(func=cmd_events)

    d = sub.add_parser("devices", help="the fleet as JSON lines")
    d.add_argument("--db")
    d.set_defaults(func=cmd_devices)

    for gone in ("add-checkpoint", "add-device"):  # say where they went, whatever their old arguments
        g = sub.add_parser(gone, help=argparse.SUPPRESS, add_help=False)
        g.add_argument("rest", nargs=argparse.REMAINDER)
        g.set_defaults(func=cmd_removed)
    for action in sub.choices.values():
        if any("--db" in a.option_strings for a in action._actions):
            action.add_argument("--db-file", help=f"a file holding the database URL (relative: a systemd "
                                                  f"credential, or in /etc/vhd-centre; default {DB_FILE})")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")

    def body() -> int:
        if hasattr(args, "db"):
            args.db = database_url(args)
        return args.func(args)

    return run_command("vhd-bridge", body, also=(OSError, ValueError))


if __name__ == "__main__":
    sys.exit(main())
