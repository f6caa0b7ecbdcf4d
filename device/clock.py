"""Wall and monotonic time for the gate, NTP sync state and boot id; a settable clock for tests."""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")
_STA_UNSYNC = 0x0040
_TIME_ERROR = 5


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()


class ManualClock:
    """A clock that moves only when told; for tests and the simulated demo."""

    def __init__(self, start: datetime):
        self._now = start
        self._mono = 0

    def now(self) -> datetime:
        return self._now

    def monotonic_ns(self) -> int:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += int(seconds * 1e9)


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h>: the fields before the padding, then room to spare.
    _fields_ = [("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
                ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
                ("constant", ctypes.c_long), ("precision", ctypes.c_long),
                ("tolerance", ctypes.c_long), ("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long),
                ("tick", ctypes.c_long), ("pad", ctypes.c_byte * 256)]


def time_synced(flag: Path = TIMESYNC_FLAG) -> bool:
    """True when systemd-timesyncd says so, or the kernel's NTP state is synchronised."""
    if flag.exists():
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        tx = _Timex()
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return False
    return state not in (-1, _TIME_ERROR) and not tx.status & _STA_UNSYNC


def boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""
