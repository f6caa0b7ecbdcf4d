"""The gate's decision for one credential: accept, repeat or reject, and which direction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from protocol.credential import Classified

ACCEPTED = "accepted"
REPEAT = "repeat"
REJECTED = "rejected"


@dataclass(frozen=True)
class PolicyConfig:
    direction: str = "auto"  # in, out or auto
    debounce_seconds: float = 5.0
    min_stay_seconds: float = 600.0  # auto: a scan this soon after a check-in is not a check-out


@dataclass(frozen=True)
class Seen:
    """The last accepted scan of one person at this gate."""

    at: datetime  # UTC
    direction: str


@dataclass(frozen=True)
class Decision:
    outcome: str
    kind: str
    reason: str | None = None
    direction: str | None = None
    subject: str | None = None
    name: str | None = None
    previous_at: datetime | None = None  # for a repeat: when the scan it repeats was made


def next_direction(mode: str, last: Seen | None, now: datetime, tz: tzinfo) -> str:
    """Fixed gates keep their direction; auto alternates per person per local day, starting in."""
    if mode in ("in", "out"):
        return mode
    if last is None or last.at.astimezone(tz).date() != now.astimezone(tz).date():
        return "in"
    return "out" if last.direction == "in" else "in"


def decide(c: Classified, last: Seen | None, now: datetime, tz: tzinfo, cfg: PolicyConfig) -> Decision:
    if c.credential is None:
        return Decision(REJECTED, c.kind, reason=c.reason)
    cred = c.credential
    if last is not None:
        since = now - last.at
        repeat = timedelta(0) <= since < timedelta(seconds=cfg.debounce_seconds)
        # Two scans at the door a minute apart are one arrival, not an arrival and a departure.
        too_soon = (cfg.direction == "auto" and last.direction == "in"
                    and timedelta(0) <= since < timedelta(seconds=cfg.min_stay_seconds))
    else:
        repeat = too_soon = False
    if last is not None and (repeat or too_soon):
        return Decision(REPEAT, cred.kind, direction=last.direction, subject=cred.subject,
                        name=cred.name, previous_at=last.at)
    return Decision(ACCEPTED, cred.kind, direction=next_direction(cfg.direction, last, now, tz),
                    subject=cred.subject, name=cred.name)
