"""`vhd-centre`: the web site's schema, its users, and serving it with gunicorn."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from common.args import host_port, number_in
from common.errors import UserError, run_command


class CentreError(UserError):
    """A user's mistake on the command line: printed as one line."""


def _setup(db: str | None, db_file: str | None, create: bool) -> None:
    from mqtt_bridge.centre_api import find_database_url

    url = find_database_url(db, db_file)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if not create and not path.is_file():
            raise CentreError(f"no database at {path}: check the path (vhd-centre migrate makes a new one)")
        if path.is_dir() or not path.parent.is_dir():
            raise CentreError(f"cannot make a database at {path}: give a file in a folder that exists")
    os.environ["VHD_CENTRE_DB"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "centre.settings")
    import django
    from django.utils import translation

    django.setup()
    translation.activate("en")  # one language on a technician's terminal, as every vhd-* command speaks


def _demo_environment(args) -> None:
    """Everything the demo needs, in its own folder, before Django reads its settings."""
    out = Path(args.out).resolve()
    (out / "centre").mkdir(parents=True, exist_ok=True)
    (out / "centre").chmod(0o700)
    args.db = args.db or f"sqlite:///{out / 'portal.sqlite3'}"
    os.environ.update({"VHD_CENTRE_HOME": str(out / "centre"), "VHD_SMS_BACKEND": "console",
                       "VHD_PORTAL_URL": f"http://{args.listen}",
                       "VHD_CENTRE_HOSTS": f"{_listen(args.listen)[0]},localhost,127.0.0.1"})


def cmd_migrate(args) -> int:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    call_command("migrate", interactive=False, verbosity=0)
    print(f"{len(pending)} migration(s) applied; the database is up to date")
    return 0


def _listen(listen: str) -> tuple[str, int]:
    try:
        return host_port(listen, "--listen")
    except ValueError as exc:
        raise CentreError(str(exc)) from None


def cmd_serve(args) -> int:
    _listen(args.listen)
    argv = [sys.executable, "-m", "gunicorn", "centre.wsgi:application", "--bind", args.listen,
            "--workers", str(args.workers), "--timeout", "60", "--graceful-timeout", "20",
            "--forwarded-allow-ips", "127.0.0.1,::1",
            # gunicorn's control socket would go to $HOME, which a service has not got
            "--no-control-socket"]  # access log off: query strings can name a person
    os.execv(sys.executable, argv)
    return 0  # not reached


def _port_free(listen: str) -> None:
    import socket

    address = _listen(listen)
    with socket.socket() as s:
        try:
            s.bind(address)
        except OSError as exc:
            raise CentreError(f"cannot listen on {listen}: {exc.strerror} (another program has the port? "
                              f"make portal PORT=8001, or --listen 127.0.0.1:8001)") from None


def cmd_demo(args) -> int:
    """The portal on this machine for trying it: SQLite in --out, SMS codes on this terminal, a
    demo checkpoint, a district administrator (the `demo` management command); then served as
    `serve` serves it."""
    from django.core.management import call_command

    _port_free(args.listen)
    call_command("demo", listen=args.listen, out=args.out)
    return cmd_serve(args)


def cmd_django(args) -> int:
    """A command the site's apps define (`report`, `trace`), run as Django runs its own."""
    from django.core.management import call_command

    call_command(args.command, *args.rest)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vhd-centre", description="the centre's web site")
    p.add_argument("--db", help="postgresql://... or sqlite:///file.db (better: the database-url file)")
    p.add_argument("--db-file", help="a file holding the database URL (default: the database-url credential "
                                     "or /etc/vhd-centre/database-url)")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the site with gunicorn")
    s.add_argument("--listen", default="127.0.0.1:8000")
    s.add_argument("--workers", type=number_in(int, 1, 64), default=3)
    s.set_defaults(func=cmd_serve)
    m = sub.add_parser("migrate", help="create or upgrade every table from an empty database")
    m.set_defaults(func=cmd_migrate)
    d = sub.add_parser("demo", help="the portal on this machine, SMS codes printed here")
    d.add_argument("--listen", default="127.0.0.1:8000")
    d.add_argument("--workers", type=number_in(int, 1, 64), default=2)
    d.add_argument("--out", default="demo-out/portal")
    d.set_defaults(func=cmd_demo)
    for name, text in (("report", "check-ins per checkpoint and day, or per unit (CSV or JSON)"),
                       ("trace", "visits and contacts of a person, audited (--reason and --by required)"),
                       ("retention", "delete check-ins past the retention window (run daily by vhd-retention)"),
                       ("createuser", "add a user with a role (or set an existing one's password and role)")):
        d = sub.add_parser(name, help=text, add_help=False)  # its own options are Django's command's
        d.set_defaults(func=cmd_django)
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args, rest = p.parse_known_args(argv)
    if rest and args.func is not cmd_django:
        p.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    from django.db import DatabaseError

    def body() -> int:
        try:
            if args.command == "demo":
                _demo_environment(args)
            _setup(args.db, args.db_file, create=args.command in ("migrate", "demo"))
            return args.func(args)
        except DatabaseError as exc:  # a database that refuses or is away: one line, not a traceback
            raise CentreError(f"database error: {(str(exc).strip().splitlines() or [''])[0]}") from None

    from django.core.management.base import CommandError

    return run_command("vhd-centre", body, also=(OSError, ValueError, CommandError))


if __name__ == "__main__":
    sys.exit(main())
