"""Numbers on a command line, checked where argparse reads them: a value out of its range is a
usage error naming the option and the range, before anything runs (a retention of -100000 days
after expiry would delete every declaration still valid; a --scale of 100000 took all the memory)."""

from __future__ import annotations

import argparse


def host_port(text: str, option: str, example: str = "127.0.0.1:8000") -> tuple[str, int]:
    """HOST:PORT split, the port 1-65535 in ASCII digits; ValueError naming `option` otherwise
    (a port of 99999 was an OverflowError from bind)."""
    host, _, port = text.rpartition(":")
    if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ValueError(f"{option} takes HOST:PORT, e.g. {example}")
    return host, int(port)


def number_in(kind: type[int] | type[float], low: float, high: float):
    """An argparse `type` for an int or float from `low` to `high` (nan and infinities refused)."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {'whole ' if kind is int else ''}number") from None
        if not low <= value <= high:  # nan fails this too
            raise argparse.ArgumentTypeError(f"{text} is outside {low}..{high}")
        return value

    parse.__name__ = kind.__name__
    return parse
