"""Files that hold secrets or personal data: private whatever the umask, written whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path


def private_dir(path: Path) -> Path:
    """A folder only its owner can enter (0700), created if missing, tightened if not."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, data: str | bytes, mode: int = 0o600) -> Path:
    """Write to a temporary file created with `mode` (never wider, whatever the umask), then
    rename it over `path`: a reader sees the old file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)  # O_CREAT's mode is cut by the umask, and an old tmp keeps its own
        with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w", encoding=None
                       if isinstance(data, bytes) else "utf-8") as fh:
            fh.write(data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return path
