"""The base of every error a user can cause and fix: a command prints it as one line."""

from __future__ import annotations

import errno
import sys
from collections.abc import Callable


class UserError(RuntimeError):
    """Something the person at the keyboard can fix; its message says how."""


def run_command(prog: str, body: Callable[[], int], also: tuple[type[Exception], ...] = ()) -> int:
    """A command line's body, with what the user can fix (a UserError, or one of `also`) printed
    as one line after the program's name (exit 1), and Ctrl-C ending it quietly (exit 130)."""
    caught: tuple[type[Exception], ...] = (UserError, *also)
    try:
        return body()
    except caught as exc:
        print(f"{prog}: {' '.join(describe(exc).split())}", file=sys.stderr)  # one line, whatever a driver said
        return 1
    except KeyboardInterrupt:
        return 130


def describe(exc: BaseException) -> str:
    """An error in words: a file the system refused is named with what to do, not as a bare Errno."""
    if isinstance(exc, OSError) and not isinstance(exc, UserError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        if exc.errno in (errno.EACCES, errno.EPERM):
            return f"{where}permission denied (run it with sudo, or as the service's own user)"
        return f"{where}{exc.strerror}"
    return str(exc)
