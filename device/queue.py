"""The gate's durable local store: events committed before any feedback, and who was seen when."""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from common.errors import UserError
from device.policy import Seen
from protocol.event import RETENTION_DAYS, Event, parse_time


class QueueError(UserError):
    """The local store cannot take the event (disk full, read-only, corrupt)."""


KEY_FILE = "hash-key"


def keyed_hash(key: bytes, text: str, length: int = 16) -> str:
    """HMAC-SHA256 under this installation's secret: the same person gives the same tag on this
    gate (logs can be correlated), and nobody without the key can go from a tag back to an id
    number, however few candidates a citizen id's known prefix leaves."""
    return hmac.new(key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:length]


def load_key(path: Path) -> tuple[bytes, bool]:
    """The installation's hashing secret (32 random bytes, private), made on first use; and
    whether it was just made."""
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key, False
    except FileNotFoundError:
        pass
    key = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    return key, True


class Pending(NamedTuple):
    seq: int
    event_id: str
    body: bytes  # the event's wire form


class EventQueue:
    """SQLite in WAL mode with synchronous=FULL: a committed event survives a power cut."""

    def __init__(self, path: str | Path, max_pages: int | None = None):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.parent.chmod(0o700)  # names and id numbers: private whatever the umask
            self._key, fresh_key = load_key(self.path.parent / KEY_FILE)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=5000")
            if max_pages:
                conn.execute(f"PRAGMA max_page_count={int(max_pages)}")
            self.conn = conn
            self._create()
            if fresh_key:  # presence kept under an older key (or none) would never match again
                conn.execute("DELETE FROM presence")
        except (sqlite3.Error, OSError) as exc:
            raise QueueError(f"cannot open the event store {self.path}: {exc}") from exc

    def _create(self) -> None:
        # AUTOINCREMENT: a sequence number is never reused after the queue empties, so the
        # uplink's "sent up to seq N" mark stays right.
        self.conn.execute("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                          "event_id TEXT NOT NULL UNIQUE, body TEXT NOT NULL, created_at REAL)")
        self.conn.execute("CREATE TABLE IF NOT EXISTS presence (subject_key TEXT PRIMARY KEY, last_at TEXT, "
                          "direction TEXT)")
        # Events the centre refused: kept for a technician, never resent, never silently dropped.
        self.conn.execute("CREATE TABLE IF NOT EXISTS refused (event_id TEXT PRIMARY KEY, body TEXT, reason TEXT, "
                          "at FLOAT)")

    def subject_key(self, kind: str, subject: str) -> str:
        """A person's key in local state: keyed, so the presence table holds no id numbers."""
        return keyed_hash(self._key, f"{kind}:{subject}", 32)

    def tag(self, text: str) -> str:
        """What logs say instead of a name or an id number."""
        return keyed_hash(self._key, text)

    def record(self, event: Event) -> None:
        """Store the event and the person's latest direction in one committed transaction."""
        self.record_many([event])

    def record_many(self, events: list[Event]) -> None:
        """Store events (and each person's latest direction) in one committed transaction: all or
        none of them."""
        rows = [(e.event_id, e.encode().decode(), time.time()) for e in events]
        presence = [(self.subject_key(e.kind, e.subject), e.scanned_at, e.direction) for e in events]
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.executemany("INSERT INTO events (event_id, body, created_at) VALUES (?, ?, ?)", rows)
                self.conn.executemany(
                    "INSERT INTO presence (subject_key, last_at, direction) VALUES (?, ?, ?) "
                    "ON CONFLICT(subject_key) DO UPDATE SET last_at = excluded.last_at, "
                    "direction = excluded.direction", presence)
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:  # SQLite already rolled back on SQLITE_FULL
                    self.conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise QueueError(f"cannot store the event: {exc}") from exc

    def last_seen(self, kind: str, subject: str) -> Seen | None:
        row = self.conn.execute("SELECT last_at, direction FROM presence WHERE subject_key = ?",
                                (self.subject_key(kind, subject),)).fetchone()
        return Seen(parse_time(row[0]), row[1]) if row else None

    def forget_presence_before(self, before: datetime) -> int:
        """Drop who-was-seen state older than `before` (auto direction needs only today)."""
        cur = self.conn.execute("DELETE FROM presence WHERE last_at < ?",
                                (before.isoformat().replace("+00:00", "Z"),))
        return cur.rowcount

    def pending(self, limit: int = 100, after_seq: int = 0) -> list[Pending]:
        """Events not yet acknowledged, oldest first, as encoded when they were recorded."""
        rows = self.conn.execute("SELECT seq, event_id, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                                 (after_seq, limit)).fetchall()
        return [Pending(seq, event_id, body.encode()) for seq, event_id, body in rows]

    def ack(self, event_ids: list[str]) -> int:
        """Delete events the centre has confirmed; unknown ids are ignored."""
        if not event_ids:
            return 0
        with self.conn:
            self.conn.execute("BEGIN")
            n = 0
            for i in range(0, len(event_ids), 500):
                chunk = event_ids[i:i + 500]
                marks = ",".join("?" * len(chunk))
                n += self.conn.execute(f"DELETE FROM events WHERE event_id IN ({marks})", chunk).rowcount
        return n

    def refuse(self, refused: dict[str, str]) -> int:
        """Move events the centre refused (event_id -> reason) out of the send queue."""
        n = 0
        with self.conn:
            self.conn.execute("BEGIN")
            for event_id, reason in refused.items():
                row = self.conn.execute("SELECT body FROM events WHERE event_id = ?", (event_id,)).fetchone()
                if row is None:
                    continue
                self.conn.execute("INSERT OR REPLACE INTO refused VALUES (?, ?, ?, ?)",
                                  (event_id, row[0], str(reason)[:100], time.time()))
                self.conn.execute("DELETE FROM events WHERE event_id = ?", (event_id,))
                n += 1
        return n

    def purge_refused(self, older_than_days: float = RETENTION_DAYS) -> int:
        """Refused events are kept for a technician, but no longer than check-ins are kept."""
        cur = self.conn.execute("DELETE FROM refused WHERE at < ?", (time.time() - older_than_days * 86400,))
        return cur.rowcount

    def refused_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM refused").fetchone()[0]

    def depth(self) -> int:
        return self.conn.execute("SELECT count(*) FROM events").fetchone()[0]

    def oldest_age(self, now: float | None = None) -> float:
        row = self.conn.execute("SELECT min(created_at) FROM events").fetchone()
        return 0.0 if row[0] is None else max(0.0, (now or time.time()) - row[0])

    def event_ids(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT event_id FROM events")}

    def close(self) -> None:
        self.conn.close()


def presence_horizon(now: datetime) -> datetime:
    return now - timedelta(days=2)
