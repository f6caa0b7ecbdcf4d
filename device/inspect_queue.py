"""What a gate holds, for the technician at the Pi: counts, the oldest unsent event, the refused
ones with their reasons, and an export that shows keyed tags in place of names and id numbers."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from common import jsontext
from common.errors import UserError
from device.queue import KEY_FILE, keyed_hash

FIELDS = ("state", "event_id", "scanned_at", "direction", "kind", "checkpoint_id", "who", "reason")


class QueueReadError(UserError):
    """The gate's queue cannot be read; the message says why and what to do."""


@dataclass(frozen=True)
class Summary:
    waiting: int
    oldest_waiting_s: float | None
    refused: int
    refused_reasons: dict[str, int]


class QueueView:
    """The queue file opened read-only (the running gate keeps writing it; nothing here changes it)."""

    def __init__(self, state_dir: str | Path):
        state = Path(state_dir)
        path = state / "events.sqlite3"
        try:
            self.key = (state / KEY_FILE).read_bytes()
            if not path.is_file():
                raise FileNotFoundError(path)
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            self.db = sqlite_utils.Database(conn)
            self.tables = set(self.db.table_names())
        except PermissionError:
            raise QueueReadError(f"cannot read {state}: permission denied (run this as the gate's user: "
                                 "sudo -u vhd-gate vhd-gate queue ...)") from None
        except FileNotFoundError:
            raise QueueReadError(f"no gate queue in {state}: has the gate run with this config?") from None
        except (OSError, sqlite3.Error) as exc:
            raise QueueReadError(f"cannot read the gate queue in {state}: {exc}") from None

    def _rows(self, table: str, sql: str) -> list[dict]:
        if table not in self.tables:
            return []
        try:
            return list(self.db.query(sql))
        except sqlite3.Error as exc:
            raise QueueReadError(f"the gate queue's {table} table cannot be read: {exc}") from None

    def summary(self, now: float | None = None) -> Summary:
        waiting = self._rows("events", "SELECT count(*) AS n, min(created_at) AS oldest FROM events")
        refused = self._rows("refused", "SELECT reason FROM refused")
        n = waiting[0]["n"] if waiting else 0
        oldest = waiting[0]["oldest"] if waiting else None
        return Summary(n, (now or time.time()) - oldest if n and oldest else None, len(refused),
                       dict(Counter(r["reason"] or "?" for r in refused)))

    def events(self, refused_only: bool = False) -> Iterator[dict]:
        """Each event as a row of FIELDS: who is the keyed tag the gate's log shows, never the id."""
        rows = [] if refused_only else [("waiting", r, None) for r in self._rows(
            "events", "SELECT body FROM events ORDER BY seq")]
        rows += [("refused", r, r["reason"]) for r in self._rows(
            "refused", "SELECT body, reason FROM refused ORDER BY at")]
        for state, row, reason in rows:
            try:
                e = jsontext.loads(row["body"])
            except (TypeError, ValueError):
                e = None
            if not isinstance(e, dict):
                yield dict.fromkeys(FIELDS, "") | {"state": state, "reason": reason or "unreadable"}
                continue
            subject = e.get("subject")
            yield {"state": state, "event_id": e.get("event_id"), "scanned_at": e.get("scanned_at"),
                   "direction": e.get("direction"), "kind": e.get("kind"), "checkpoint_id": e.get("checkpoint_id"),
                   "who": keyed_hash(self.key, subject) if isinstance(subject, str) else "", "reason": reason}

    def close(self) -> None:
        self.db.conn.close()


def render(rows: Iterator[dict], fmt: str) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
