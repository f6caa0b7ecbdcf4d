"""`vhd-bridge`: run the central bridge, manage the declaration database, list what landed."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from drivers.mqtt import BrokerUrl, MqttError
from mqtt_bridge.store import StoreError, open_store


def _store(url: str):
    store = open_store(url)
    store.migrate()
    return store


def _password(args) -> str | None:
    if not args.password_file:
        return None
    try:
        return Path(args.password_file).read_text().strip()
    except OSError as exc:
        raise MqttError(f"cannot read password file {args.password_file}: {exc.strerror}") from None


def cmd_run(args) -> int:
    from mqtt_bridge.bridge import Bridge

    try:
        url = BrokerUrl.parse(args.broker)
    except ValueError as exc:
        raise MqttError(str(exc)) from None
    store = _store(args.db)
    bridge = Bridge(url, store, group=args.group, client_id=args.client_id, username=args.username,
                    password=_password(args), ca_file=args.ca_file)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    logging.getLogger(__name__).info("bridge: %s -> %s database", url, store.dialect)
    try:
        bridge.run(stop)
    finally:
        store.close()
    return 0


def cmd_migrate(args) -> int:
    store = open_store(args.db)
    n = store.migrate()
    store.close()
    print(f"{n} migration(s) applied")
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


def cmd_add_checkpoint(args) -> int:
    store = _store(args.db)
    store.add_checkpoint(args.checkpoint_id, args.name, args.address, args.phone, args.unit)
    store.close()
    return 0


def cmd_add_device(args) -> int:
    store = _store(args.db)
    try:
        store.add_device(args.device_id, args.checkpoint)
    finally:
        store.close()
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vhd-bridge", description="VHD Gate central bridge")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="ingest gate events from the broker into the database")
    r.add_argument("--broker", required=True, help="mqtt://host:port or mqtts://host:port")
    r.add_argument("--db", required=True, help="postgresql://... or sqlite:///file.db")
    r.add_argument("--group", default="vhd-bridge", help="shared subscription group")
    r.add_argument("--client-id")
    r.add_argument("--username")
    r.add_argument("--password-file")
    r.add_argument("--ca-file")
    r.set_defaults(func=cmd_run)

    m = sub.add_parser("migrate", help="create or upgrade the database schema")
    m.add_argument("--db", required=True)
    m.set_defaults(func=cmd_migrate)

    e = sub.add_parser("events", help="stored check-ins as JSON lines")
    e.add_argument("--db", required=True)
    e.add_argument("--limit", type=int)
    e.set_defaults(func=cmd_events)

    d = sub.add_parser("devices", help="the fleet as JSON lines")
    d.add_argument("--db", required=True)
    d.set_defaults(func=cmd_devices)

    c = sub.add_parser("add-checkpoint", help="register a checkpoint")
    c.add_argument("checkpoint_id")
    c.add_argument("--name", required=True)
    c.add_argument("--address", default="")
    c.add_argument("--phone", default="")
    c.add_argument("--unit", default="")
    c.add_argument("--db", required=True)
    c.set_defaults(func=cmd_add_checkpoint)

    a = sub.add_parser("add-device", help="register a gate at a checkpoint")
    a.add_argument("device_id")
    a.add_argument("--checkpoint", required=True)
    a.add_argument("--db", required=True)
    a.set_defaults(func=cmd_add_device)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (StoreError, MqttError) as exc:
        print(f"vhd-bridge: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
