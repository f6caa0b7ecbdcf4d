"""`vhd-provision`: keys, checkpoints and posters, device enrollment and install, broker config,
declarations."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from common.args import number_in
from common.authority import Authority, AuthorityError
from common.errors import run_command


def _home(args) -> Path:
    return Path(args.home or os.environ.get("VHD_CENTRE_HOME") or "/etc/vhd-centre")


def _authority(args) -> Authority:
    return Authority(_home(args) / "authority")


def _portal_url(args) -> str:
    """The portal's address: --portal-url, else $VHD_PORTAL_URL, else the centre's portal-url file."""
    from protocol.checkpoint import valid_portal_url

    url = getattr(args, "portal_url", None) or os.environ.get("VHD_PORTAL_URL", "")
    if not url:
        try:
            url = (_home(args) / "portal-url").read_text().strip()
        except OSError:
            url = ""
    if url and not valid_portal_url(url):
        raise AuthorityError(f"portal address {url!r}: an https:// address, e.g. https://khaibao.example")
    return url


def _store(args):
    from mqtt_bridge.cli import database_url
    from mqtt_bridge.locate import migrate_database
    from mqtt_bridge.store import open_store

    url = database_url(args)
    migrate_database(url)  # made or brought up to date as the centre makes it
    return open_store(url)


def cmd_authority(args) -> int:
    a = _authority(args)
    if args.action == "init":
        k = a.init()
        print(f"authority created in {a.folder}; signing key {k.kid}")
    elif args.action == "rotate":
        k = a.rotate()
        print(f"new signing key {k.kid}; older keys stay trusted until revoked")
    elif args.action == "revoke":
        if not args.kid:
            raise AuthorityError("revoke needs a key id")
        a.revoke(args.kid)
        print(f"key {args.kid} revoked; run 'authority publish' to tell the gates")
    elif args.action == "list":
        for k in a.keys():
            print(f"{k.kid}  {time.strftime('%Y-%m-%d', time.gmtime(k.created))}  "
                  f"{'revoked' if k.revoked else 'trusted'}")
    elif args.action == "publish":
        return publish_trust(args, a)
    return 0


def publish_trust(args, a: Authority) -> int:
    """Retained config with the trust list on every enrolled gate's config topic."""
    from drivers.mqtt import BrokerUrl, MqttLink
    from protocol import messages
    from protocol.messages import CentralConfig, GateSettings, TrustSettings
    from protocol.topics import topic

    if not args.broker:
        raise AuthorityError("publish needs --broker (and the database: --db or the database-url file)")
    store = _store(args)
    devices = sorted(store.devices())
    store.close()
    from common.files import read_secret
    from mqtt_bridge.locate import secret_path

    try:
        password = read_secret(secret_path(args.password_file)) if args.password_file else None
    except (OSError, ValueError) as exc:
        raise AuthorityError(f"--password-file: {getattr(exc, 'strerror', None) or exc}") from None
    link = MqttLink(f"vhd-provision-{os.getpid()}", BrokerUrl.parse(args.broker), username=args.username,
                    password=password, ca_file=args.ca_file, clean_start=True, session_expiry=0)
    link.connect()
    link.loop_start()
    deadline = time.monotonic() + 10
    while not link.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    if not link.connected:
        raise AuthorityError(f"cannot log in to {args.broker}: {link.last_error or 'no answer'}")
    trust = a.trust()
    portal = _portal_url(args)
    body = messages.encode(CentralConfig(
        trust=TrustSettings(public_keys=trust["public_keys"], revoked_key_ids=trust["revoked_key_ids"]),
        gate=GateSettings(portal_url=portal) if portal else None))
    infos = [link.publish(topic(d, "config"), body, qos=1, retain=True) for d in devices]
    for info in infos:
        if info is not None:
            info.wait_for_publish(10)
    link.disconnect()
    link.loop_stop()
    print(f"trust list published to {len(devices)} gate(s)")
    return 0


def cmd_checkpoint_add(args) -> int:
    from common.poster import write_poster
    from mqtt_bridge.store import StoreError, check_checkpoint

    given = {"name": args.name, "address": args.address, "contact_phone": args.phone, "unit": args.unit}
    check_checkpoint(args.checkpoint_id, **{k: v for k, v in given.items() if v is not None})
    portal = _portal_url(args)
    store = _store(args)
    try:
        existing = next((r for r in store.checkpoint_rows() if r["checkpoint_id"] == args.checkpoint_id), None)
        if existing is not None and not args.update:
            raise StoreError(f"checkpoint {args.checkpoint_id} exists already: add --update to change the "
                             "fields you give (the others are kept)", transient=False)
        if existing is None and args.update:  # a mistyped id registered a new checkpoint and printed its poster
            raise StoreError(f"no checkpoint {args.checkpoint_id} to update: check the id, or leave out --update "
                             "to register it", transient=False)
        if existing is None and not args.name:
            raise StoreError("a new checkpoint needs --name", transient=False)
        row = {k: v if v is not None else (existing or {}).get(k) or "" for k, v in given.items()}
        # The poster first: a checkpoint is registered only once its poster could be written.
        png, pdf = write_poster(Path(args.out), args.checkpoint_id, row["name"], row["address"],
                                row["contact_phone"], row["unit"], portal)
        store.add_checkpoint(args.checkpoint_id, row["name"], row["address"], row["contact_phone"], row["unit"])
    finally:
        store.close()
    verb = "updated" if existing is not None else "registered"
    print(f"checkpoint {args.checkpoint_id} {verb}; poster: {pdf} and {png}")
    return 0


def cmd_device_enroll(args) -> int:
    from provisioning.enroll import PI_VENV, enroll

    store = _store(args)
    try:
        b = enroll(store, _authority(args), _home(args) / "broker", args.checkpoint, args.broker,
                   Path(args.out), args.device_id, args.direction, args.admin_broker, _portal_url(args))
    finally:
        store.close()
    print(f"device {b.device_id} enrolled; it can log in to the broker now.\n"
          f"bundle: {b.archive}\n"
          f"on the Pi: scp {b.archive.name} there, then\n"
          f"  sudo bash {PI_VENV.parent}/provisioning/install-pi.sh {b.archive.name}")
    return 0


def cmd_device_revoke(args) -> int:
    from provisioning.enroll import revoke

    store = _store(args)
    try:
        revoke(store, _home(args) / "broker", args.device_id, args.admin_broker)
    finally:
        store.close()
    print(f"gate {args.device_id} revoked: its broker login is deleted and any connection it had was ended; "
          "events from it are refused; the fleet page shows it as revoked. To use the Pi again, enroll it anew.")
    return 0


def cmd_device_install(args) -> int:
    from provisioning.enroll import install

    install(Path(args.bundle), Path(args.root), Path(args.venv) if args.venv else None)
    return 0


def cmd_broker_config(args) -> int:
    from provisioning.broker import install_debian, write_broker_config

    home = _home(args)
    if args.install and Path(args.root) != Path("/"):  # a staging tree holds the centre's side too
        home = Path(args.root) / str(home).lstrip("/")
    files = write_broker_config(home / "broker", args.hostname, args.tls_port, args.local_port or None)
    print(f"broker files in {files.folder}: CA for gates {files.ca}, bridge password "
          f"{files.bridge_password}, provisioning password {files.admin_password}")
    if args.install:
        install_debian(files, Path(args.root))
    else:
        print(f"install into Debian's mosquitto: vhd-provision broker-config --hostname ... --install\n"
              f"or run it standalone: mosquitto -c {files.conf}")
    return 0


def cmd_centre_install(args) -> int:
    from provisioning.centre import Settings, install_centre

    url = None
    if args.database_url_file:
        url = Path(args.database_url_file).read_text().strip()
    settings = Settings(args.portal_url, args.site_host, args.sms_url, args.sms_template,
                        Path(args.sms_token_file) if args.sms_token_file else None, args.web_listen,
                        args.broker_url)
    install_centre(_home(args), Path(args.root), Path(args.venv) if args.venv else None, url,
                   (args.db_name, args.db_user) if args.create_database else None, settings)
    return 0


def _rooted(args, path: Path) -> Path:
    return Path(args.root) / str(path).lstrip("/") if Path(args.root) != Path("/") else path


def cmd_centre_backup(args) -> int:
    from mqtt_bridge.cli import database_url
    from provisioning.backup import backup
    from provisioning.broker import DYNSEC_STATE

    out = backup(database_url(args), _rooted(args, _home(args)),
                 _rooted(args, Path("/var/lib/mosquitto") / DYNSEC_STATE), Path(args.out))
    print(f"backup in {out} (private: it holds the issuer's signing keys and every password); keep a copy "
          "off this server")
    return 0


def cmd_centre_restore(args) -> int:
    from mqtt_bridge.cli import database_url
    from provisioning.backup import restore
    from provisioning.broker import DYNSEC_STATE

    restore(Path(args.backup), database_url(args), _rooted(args, _home(args)),
            _rooted(args, Path("/var/lib/mosquitto") / DYNSEC_STATE))
    print("now: sudo vhd-centre migrate (a backup from an older release), then "
          "sudo systemctl restart mosquitto vhd-bridge vhd-web")
    return 0


def cmd_declaration_add(args) -> int:
    from provisioning.declare import declare

    store = _store(args)
    try:
        d = declare(store, _authority(args), Path(args.out), args.name, args.citizen_id, args.birth_year,
                    args.sex, args.phone, args.insurance, args.on_behalf_of, args.days)
    finally:
        store.close()
    print(f"declaration {d.declaration_id} recorded; QR: {d.qr_png}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vhd-provision", description=__doc__)
    p.add_argument("--home", help="the centre's folder (keys, broker files); default $VHD_CENTRE_HOME "
                                  "or /etc/vhd-centre")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("authority", help="the declaration issuer's signing keys")
    a.add_argument("action", choices=["init", "rotate", "revoke", "list", "publish"])
    a.add_argument("kid", nargs="?")
    a.add_argument("--broker")
    a.add_argument("--db")
    a.add_argument("--username", default="vhd-bridge")
    a.add_argument("--password-file")
    a.add_argument("--ca-file")
    a.set_defaults(func=cmd_authority)

    c = sub.add_parser("checkpoint", help="register checkpoints (đăng ký điểm kiểm dịch)")
    csub = c.add_subparsers(dest="action", required=True)
    ca = csub.add_parser("add")
    ca.add_argument("checkpoint_id")
    ca.add_argument("--name")
    ca.add_argument("--address")
    ca.add_argument("--phone")
    ca.add_argument("--unit", help="the unit reporting to the district health centre")
    ca.add_argument("--update", action="store_true", help="change an existing checkpoint's given fields")
    ca.add_argument("--portal-url", help="the portal's address for the poster's QR (default: the centre's)")
    ca.add_argument("--db")
    ca.add_argument("--out", default=".")
    ca.set_defaults(func=cmd_checkpoint_add)

    d = sub.add_parser("device", help="enroll a gate (centre) or install its bundle (Pi)")
    dsub = d.add_subparsers(dest="action", required=True)
    de = dsub.add_parser("enroll")
    de.add_argument("--checkpoint", required=True)
    de.add_argument("--broker", required=True, help="the URL gates use, e.g. mqtts://broker.example:8883")
    de.add_argument("--db")
    de.add_argument("--device-id")
    de.add_argument("--out", default=".")
    de.add_argument("--direction", choices=["auto", "in", "out"], default="auto",
                    help="a gate that sees only entries (in) or only exits (out); auto alternates")
    de.add_argument("--portal-url", help="the portal's address for the idle screen's QR (default: the centre's)")
    de.add_argument("--admin-broker", default="mqtt://127.0.0.1:1883",
                    help="where provisioning reaches the broker to create the gate's login")
    de.set_defaults(func=cmd_device_enroll)
    dr = dsub.add_parser("revoke", help="a stolen or retired gate: end its broker login, refuse its events")
    dr.add_argument("device_id")
    dr.add_argument("--db")
    dr.add_argument("--admin-broker", default="mqtt://127.0.0.1:1883",
                    help="where provisioning reaches the broker to delete the gate's login")
    dr.set_defaults(func=cmd_device_revoke)
    di = dsub.add_parser("install")
    di.add_argument("bundle", help="the bundle folder or .tar.gz")
    di.add_argument("--root", default="/", help="install into this tree (default /)")
    di.add_argument("--venv", help="the venv holding vhd-gate (default: this one)")
    di.set_defaults(func=cmd_device_install)

    b = sub.add_parser("broker-config", help="mosquitto config, passwords, ACL and TLS for the centre")
    b.add_argument("--hostname", action="append", required=True, help="name or IP gates connect to")
    b.add_argument("--tls-port", type=number_in(int, 1, 65535), default=8883)
    b.add_argument("--local-port", type=number_in(int, 0, 65535), default=1883,
                   help="loopback plain port for the bridge; 0: none")
    b.add_argument("--install", action="store_true",
                   help="install into Debian's mosquitto (conf.d drop-in) and restart it")
    b.add_argument("--root", default="/", help="with --install: write into this tree instead of /")
    b.set_defaults(func=cmd_broker_config)

    ce = sub.add_parser("centre", help="install the centre's services on this server")
    ces = ce.add_subparsers(dest="action", required=True)
    ci = ces.add_parser("install")
    ci.add_argument("--create-database", action="store_true",
                    help="create the PostgreSQL role and database (through the local postgres user)")
    ci.add_argument("--db-name", default="vhd")
    ci.add_argument("--db-user", default="vhd")
    ci.add_argument("--database-url-file", help="a file holding the URL of an existing database")
    ci.add_argument("--root", default="/", help="install into this tree (default /)")
    ci.add_argument("--venv", help="the venv holding vhd-bridge (default: this one)")
    ci.add_argument("--portal-url", help="the portal's public address, e.g. https://khaibao.example "
                                         "(needed once; the posters' and gates' QR codes open it)")
    ci.add_argument("--site-host", help="more host names the site answers to, comma-separated (the "
                                        "portal's own is always one)")
    ci.add_argument("--sms-url", help="the SMS gateway's address that sign-in codes are POSTed to")
    ci.add_argument("--sms-template", help='the JSON body with {phone} and {text}, e.g. '
                                           '\'{"to": "{phone}", "message": "{text}"}\'')
    ci.add_argument("--sms-token-file", help="a file holding the gateway's bearer token")
    ci.add_argument("--web-listen", help="where gunicorn listens for the proxy (default 127.0.0.1:8000)")
    ci.add_argument("--broker-url", help="the broker the bridges use (default mqtt://127.0.0.1:1883)")
    ci.set_defaults(func=cmd_centre_install)

    cb = ces.add_parser("backup", help="the database, keys, secrets, settings and gate logins into a folder")
    cb.add_argument("--out", required=True, help="a new folder for the backup")
    cb.add_argument("--db")
    cb.add_argument("--root", default="/", help="a centre installed into this tree (default /)")
    cb.set_defaults(func=cmd_centre_backup)
    cr = ces.add_parser("restore", help="put a backup back (stop mosquitto, vhd-bridge and vhd-web first)")
    cr.add_argument("backup", help="the folder 'centre backup' made")
    cr.add_argument("--db")
    cr.add_argument("--root", default="/", help="a centre installed into this tree (default /)")
    cr.set_defaults(func=cmd_centre_restore)

    dc = sub.add_parser("declaration", help="record a health declaration and write its QR")
    dcs = dc.add_subparsers(dest="action", required=True)
    dd = dcs.add_parser("add")
    dd.add_argument("--name", required=True)
    dd.add_argument("--citizen-id", default="")
    dd.add_argument("--birth-year", type=int, required=True)
    dd.add_argument("--sex", choices=["M", "F"], required=True)
    dd.add_argument("--phone", default="")
    dd.add_argument("--insurance", default="", help="health-insurance card number")
    dd.add_argument("--on-behalf-of", default="", help="who declared for this person (a relative)")
    dd.add_argument("--days", type=int, default=14, help="how long the QR stays valid")
    dd.add_argument("--db")
    dd.add_argument("--out", default=".")
    dd.set_defaults(func=cmd_declaration_add)
    _add_db_file(p)
    return p


def _add_db_file(p: argparse.ArgumentParser) -> None:
    """Every command that takes --db also takes --db-file (or the default database-url file)."""
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_db_file(child)
    if any("--db" in a.option_strings for a in p._actions) and not any(
            "--db-file" in a.option_strings for a in p._actions):
        p.add_argument("--db-file", help="a file holding the database URL (default: the database-url "
                                         "credential, or /etc/vhd-centre/database-url)")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # Every package's errors derive from UserError (the declaration form's are ValueErrors).
    return run_command("vhd-provision", lambda: args.func(args), also=(ValueError, OSError))


if __name__ == "__main__":
    sys.exit(main())
