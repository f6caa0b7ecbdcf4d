"""`vhd-sim`: the demo that runs a simulated gate and the centre on this machine."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from common.errors import run_command


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="vhd-sim", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="a simulated gate over generated QR frames, a broker and the bridge")
    d.add_argument("--out", default="demo-out")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    from sim.demo import run_demo

    return run_command("vhd-sim", lambda: run_demo(Path(args.out)), also=(OSError,))


if __name__ == "__main__":
    sys.exit(main())
