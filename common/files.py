"""Files that hold secrets or personal data: private whatever the umask, written whole or not at all."""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

from common.errors import UserError

SECRET_LIMIT = 4096  # bytes: a password, a token, a database URL


def read_secret(path: Path | str, limit: int = SECRET_LIMIT) -> str:
    """A password, token or URL file's text, stripped. At most `limit` bytes are read: a device or
    a huge file named by mistake (`--password-file /dev/zero`) is refused, not read until memory
    runs out; a pipe (`/dev/stdin`) still works. OSError if it cannot be read; ValueError, naming
    the file, if it is not a short UTF-8 text."""
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path} holds more than {limit} bytes: not a password, token or address file")
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None


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


def private_file(path: Path) -> None:
    """Make `path` private before a library opens it: created empty with 0600 if missing,
    tightened if it is ours and wider. SQLite creates a database with the umask's mode and gives
    its -journal, -wal and -shm files the database's; this keeps all of them private. A folder
    that does not exist or cannot be written, or a path that is not a file, is left to the opener
    to report."""
    try:
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        st = path.stat()
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077 and st.st_uid == os.geteuid():
            path.chmod(0o600)
    except OSError:
        pass


class ArchiveError(UserError):
    """An archive that cannot be read, or holds what it should not."""


def extract_archive(archive: Path, into: Path, what: str, tops: tuple[str, ...] = ()) -> None:
    """Regular files and folders only, nowhere but under `into` (and, given `tops`, only under
    those first folders), no set-id bits, nothing writable by others. Python 3.11.2 (Debian 12,
    Raspberry Pi OS bookworm) has no extraction filters: every member is checked here instead."""
    try:
        with tarfile.open(archive) as tar:
            members = tar.getmembers()
            for m in members:
                parts = Path(m.name).parts
                if (not (m.isfile() or m.isdir()) or m.name.startswith("/") or ".." in parts or not parts
                        or (tops and parts[0] not in tops)):
                    raise ArchiveError(f"{archive} is not {what}: it holds {m.name!r}")
                m.mode = (m.mode & 0o755) if m.isdir() else (m.mode & 0o644)
            tar.extractall(into, members=members)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(f"cannot read {what} {archive}: {exc}") from None
