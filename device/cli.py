"""`vhd-gate`: run the gate, check its config, decode images, render screens, test the hardware."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from common.args import number_in
from device import __version__
from device.config import Config, ConfigError, load

EXIT_CONFIG = 2
NO_TRUST_KEYS = "no_trust_keys"


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")


def _config(path: str | None) -> Config:
    return load(path) if path else Config()


def _apply_overrides(cfg: Config, args) -> Config:
    gate = cfg.gate
    if args.device_id:
        gate = replace(gate, device_id=args.device_id)
    if args.state_dir:
        gate = replace(gate, state_dir=args.state_dir)
    camera = replace(cfg.camera, source=args.camera) if args.camera else cfg.camera
    mqtt = replace(cfg.mqtt, url=args.broker) if args.broker else cfg.mqtt
    display, signals = cfg.display, cfg.signals
    if getattr(args, "simulate", False):  # no OLED, buzzer or LEDs attached: log decisions only
        display = replace(display, driver="none")
        signals = replace(signals, driver="none")
    import dataclasses

    from device.config import from_dict

    # Re-validate: an override is as much configuration as the file.
    return from_dict(dataclasses.asdict(replace(cfg, gate=gate, camera=camera, mqtt=mqtt, display=display,
                                                    signals=signals)),
                     args.config or "<defaults>")


def cmd_run(args) -> int:
    from device import daemon

    cfg = _apply_overrides(_config(args.config), args)
    return daemon.run(cfg, Path(args.config).parent if args.config else None, args.drain_seconds)


def cmd_check_config(args) -> int:
    cfg = load(args.config)
    print(f"{args.config}: OK (gate {cfg.gate.device_id}, checkpoint {cfg.gate.checkpoint_id}, "
          f"camera {cfg.camera.source}, display {cfg.display.driver}, "
          f"{len(cfg.trust.public_keys)} trusted key(s))")
    if not cfg.trust.public_keys:
        print(f"{args.config}: warning: [trust] public_keys is empty: this gate will refuse every personal "
              "QR as unknown_key until the centre publishes its keys", file=sys.stderr)
    return 0


def decode_files(files: list[str], cfg: Config, decoder_name: str | None, now: int) -> list[dict]:
    from drivers.camera import ImageFileError, read_grey
    from drivers.decoder import make_decoder
    from protocol.credential import classify
    from protocol.token import UNKNOWN_KEY, TrustStore

    decoder = make_decoder(decoder_name or cfg.decoder.driver)
    trust = TrustStore.from_public_keys(cfg.trust.public_keys, cfg.trust.revoked_key_ids)
    untrusted = not trust.keys
    lines: list[dict] = []
    for name in files:
        try:
            grey = read_grey(name)
        except (OSError, ImageFileError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or "not an image"
            lines.append({"file": name, "error": reason})
            continue
        codes: list[dict] = []
        for code in decoder.decode(grey):
            c = classify(code.text, trust, now, cfg.policy.accept_cccd)
            # Without any trust key a genuine code is not "unknown_key": it cannot be checked.
            why = NO_TRUST_KEYS if untrusted and c.reason == UNKNOWN_KEY else c.reason
            codes.append({"text": code.text, "kind": c.kind, "accepted": c.accepted,
                          "reason": why, "name": c.credential.name if c.credential else None})
        lines.append({"file": name, "codes": codes})
    return lines


def cmd_decode(args) -> int:
    cfg = _config(args.config)
    if args.config:
        from device.central import CentralConfig

        # What the running gate trusts: its config with the centre's published keys and
        # revocations applied, as saved in its state directory.
        cfg = CentralConfig(Path(cfg.gate.state_dir), cfg).saved()
    if args.public_key:
        from protocol.token import decode_public_key

        for key in args.public_key:
            try:
                decode_public_key(key)
            except ValueError as exc:
                print(f"vhd-gate decode: --public-key {key[:60]!r}: {exc}", file=sys.stderr)
                return EXIT_CONFIG
        cfg = replace(cfg, trust=replace(cfg.trust, public_keys=[*cfg.trust.public_keys, *args.public_key]))
    if not cfg.trust.public_keys:
        print("vhd-gate decode: no trust keys (give --config with [trust] public_keys, or --public-key): "
              "personal QR codes are read but their signatures cannot be checked", file=sys.stderr)
    now = int(datetime.now(UTC).timestamp())
    lines = decode_files(args.files, cfg, args.decoder, now)
    for line in lines:
        print(json.dumps(line, ensure_ascii=False))
    return 0 if any("codes" in line for line in lines) else 1


def cmd_queue(args) -> int:
    from device.inspect_queue import QueueView, render

    cfg = load(args.config)
    view = QueueView(cfg.gate.state_dir)
    try:
        if args.export:
            sys.stdout.write(render(view.events(args.refused), args.export))
            return 0
        s = view.summary()
    finally:
        view.close()
    oldest = f", the oldest {s.oldest_waiting_s / 60:.0f} min old" if s.oldest_waiting_s is not None else ""
    print(f"{s.waiting} event(s) waiting for the centre{oldest}")
    reasons = ", ".join(f"{reason}: {n}" for reason, n in sorted(s.refused_reasons.items()))
    print(f"{s.refused} event(s) refused by the centre{f' ({reasons})' if reasons else ''}; kept here, never "
          "resent (vhd-gate queue --export csv --refused lists them)")
    return 0


def cmd_screens(args) -> int:
    from device.screens import Screens
    from device.showcase import render_all

    cfg = _config(args.config)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for lang in ([args.lang] if args.lang else ["vi", "en"]):
        screens = Screens((cfg.display.width, cfg.display.height), lang, cfg.display.font)
        for name, img in render_all(screens, cfg):
            path = out / f"{lang}-{name}.png"
            img = img.convert("L")
            if args.scale > 1:
                img = img.resize((img.width * args.scale, img.height * args.scale), 0)
            img.save(path)
            print(path)
    return 0


def cmd_packages(args) -> int:
    from device.packages import apt_packages, interfaces

    cfg = load(args.config) if args.config else Config()
    if args.interfaces:
        print(" ".join(interfaces(cfg)))
    else:
        print(" ".join(apt_packages(cfg)))
    return 0


def cmd_selftest(args) -> int:
    from device.selftest import run_selftest

    cfg = load(args.config)
    return run_selftest(cfg, Path(args.config).parent)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vhd-gate", description="QR health check-in gate")
    p.add_argument("--version", action="version", version=f"vhd-gate {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run the gate daemon")
    r.add_argument("--config", help="TOML config file")
    r.add_argument("--camera", help="override camera.source, e.g. images:DIR or picamera2")
    r.add_argument("--device-id", help="override gate.device_id")
    r.add_argument("--state-dir", help="override gate.state_dir")
    r.add_argument("--broker", help="override mqtt.url: mqtt://host:port or mqtts://host:port")
    r.add_argument("--simulate", action="store_true",
                   help="no OLED, buzzer or LEDs: decisions go to the log only (use with --camera)")
    r.add_argument("--drain-seconds", type=number_in(float, 0, 86400), default=0,
                   help="when a finite camera source ends, wait this long for the centre to ack all")
    r.set_defaults(func=cmd_run)

    c = sub.add_parser("check-config", help="validate a config file")
    c.add_argument("config")
    c.set_defaults(func=cmd_check_config)

    d = sub.add_parser("decode", help="decode and classify QR codes in image files (JSON lines)")
    d.add_argument("files", nargs="+")
    d.add_argument("--config", help="config with trust keys and decoder choice")
    d.add_argument("--decoder", choices=["zxing", "zbar"])
    d.add_argument("--public-key", action="append", default=[],
                   help="a trusted issuer key (base64), in addition to the config's")
    d.set_defaults(func=cmd_decode)

    k = sub.add_parser("packages", help="the apt packages (or, with --interfaces, the raspi-config "
                                        "interfaces) a config's parts need")
    k.add_argument("--config")
    k.add_argument("--interfaces", action="store_true")
    k.set_defaults(func=cmd_packages)

    s = sub.add_parser("screens", help="render every OLED screen to PNG")
    s.add_argument("--out", required=True)
    s.add_argument("--config")
    s.add_argument("--lang", choices=["vi", "en"])
    s.add_argument("--scale", type=number_in(int, 1, 16), default=1)
    s.set_defaults(func=cmd_screens)

    q = sub.add_parser("queue", help="what the gate holds: events waiting for the centre, refused ones "
                                     "and why; --export for each event (keyed tags, never names or ids)")
    q.add_argument("--config", required=True)
    q.add_argument("--export", choices=["jsonl", "csv"], help="every event, one line each, on standard output")
    q.add_argument("--refused", action="store_true", help="only the events the centre refused")
    q.set_defaults(func=cmd_queue)

    t = sub.add_parser("selftest", help="check camera, OLED, buzzer, LEDs, broker login, clock")
    t.add_argument("--config", required=True)
    t.set_defaults(func=cmd_selftest)

    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _setup_logging(args.verbose)
    from common.errors import run_command

    def body() -> int:
        try:
            return args.func(args)
        except ConfigError as exc:
            print(f"vhd-gate: config error: {exc}", file=sys.stderr)
            return EXIT_CONFIG

    return run_command("vhd-gate", body, also=(OSError,))  # a folder or file the system refused: one line


if __name__ == "__main__":
    sys.exit(main())
