"""One process at a time on a gate's state: the daemon, or a technician's selftest."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from common.errors import UserError

LOCK_FILE = "gate.lock"


class GateBusy(UserError):
    """Another process holds the gate's state (the running service, usually)."""


class StateLock:
    """An exclusive lock on `state_dir/gate.lock`, held until close(); the holder's pid inside."""

    def __init__(self, state_dir: str | Path, what: str):
        path = Path(state_dir) / LOCK_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self.fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(self.fd)
            raise GateBusy(f"the gate is running on {path.parent} (pid {holder}), and {what} would take over "
                           "its camera and its broker session: stop it first (sudo systemctl stop vhd-gate), "
                           "then start it again (sudo systemctl start vhd-gate)") from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)

    def close(self) -> None:
        os.close(self.fd)
