"""A whole chain for tests: frames -> gate daemon -> mosquitto -> bridge -> database."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from device.queue import EventQueue
from mqtt_bridge.locate import migrate_database
from mqtt_bridge.store import open_store
from sim.frames import Shot, compose, render_qr, save_frame
from tests.services import StderrReader, write_gate_config

ROOT = Path(__file__).resolve().parent.parent
DEVICE = "gate-chain-01"
CHECKPOINT = "CP-CHAIN"
EVENT_LINE = re.compile(r"feedback accepted .*event=([0-9a-f-]{36})")


def crowd(folder: Path, authority, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        tok = authority.live_token(decl=f"VHD-2021-{i:06d}", name=f"Người Thứ {i}")
        save_frame(compose(render_qr(tok), Shot(size=230, angle=i * 11 % 360), seed=i),
                   folder / f"{i:03d}.png")
    return folder


def via_port(url: str, port: int) -> str:
    u = urlparse(url)
    return urlunparse(u._replace(netloc=f"{u.hostname}:{port}"))


class Chain:
    def __init__(self, tmp: Path, authority, db_url: str, broker, people: int = 30):
        self.tmp = tmp
        self.authority = authority
        self.db_url = db_url
        self.broker = broker
        self.frames = crowd(tmp / "frames", authority, people)
        self.state = tmp / "gate-state"
        self.event_ids: list[str] = []
        self.bridges: list[subprocess.Popen] = []
        self.bridge_logs: list[StderrReader] = []
        self.gate: subprocess.Popen | None = None
        self.reader: StderrReader | None = None
        migrate_database(db_url)  # what `vhd-centre migrate` does at install
        store = open_store(db_url)
        store.add_checkpoint(CHECKPOINT, "Cổng thử nghiệm")
        store.add_device(DEVICE, CHECKPOINT)
        store.close()
        self.config = write_gate_config(tmp / "gate.toml", authority, self.state, extra="""
[policy]
debounce_seconds = 0
min_stay_minutes = 0
[mqtt]
batch_size = 50
window = 4
ack_timeout_seconds = 3
backoff_min_seconds = 0.2
backoff_max_seconds = 2
""", device_id=DEVICE, checkpoint_id=CHECKPOINT)

    def start_bridge(self, db_url: str | None = None, *extra: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "mqtt_bridge.cli", "run", "--broker", self.broker.url,
                                 "--db", db_url or self.db_url, *extra], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        self.bridges.append(proc)
        self.bridge_logs.append(StderrReader(proc))
        return proc

    def bridge_says(self, text: str, timeout: float = 30) -> bool:
        """Wait for a line of the last bridge's log, as an operator reads it in the journal."""
        log = self.bridge_logs[-1]
        if any(text in line for line in log.lines):
            return True
        return any(text in line for line in log.follow(timeout))

    def start_gate(self, repeat: int = 3, fps: float = 15, drain: float = 120) -> subprocess.Popen:
        self.gate = subprocess.Popen(
            [sys.executable, "-m", "device.cli", "run", "--config", str(self.config),
             "--broker", self.broker.url, "--drain-seconds", str(drain),
             "--camera", f"images:{self.frames}?fps={fps}&repeat={repeat}"],
            cwd=ROOT, stderr=subprocess.PIPE, text=True)
        self.reader = StderrReader(self.gate)
        return self.gate

    def follow(self, until_events: int, timeout: float = 60, until_line: str | None = None) -> bool:
        """Collect the accepted events from the gate's log (one line per scan, as a technician
        reads it in the journal) until there are `until_events` in all, or a line with
        `until_line` has come; False if the deadline came first."""
        if until_line and any(until_line in line for line in self.reader.lines):
            return True
        for line in self.reader.follow(timeout):
            m = EVENT_LINE.search(line)
            if m:
                self.event_ids.append(m.group(1))
            if len(self.event_ids) >= until_events or (until_line and until_line in line):
                return True
        return False

    def finish_gate(self, timeout: float = 180) -> int:
        """Let the gate run out of frames and drain; returns its exit code."""
        self.follow(10**9, timeout)
        rc = self.gate.wait(30)
        return rc

    def stored(self) -> tuple[int, set[str]]:
        store = open_store(self.db_url)
        try:
            ids = [c.event_id for c in store.checkins()]
        finally:
            store.close()
        return len(ids), set(ids)

    def wait_stored(self, n: int, timeout: float = 60) -> tuple[int, set[str]]:
        deadline = time.monotonic() + timeout
        while True:
            count, ids = self.stored()
            if count >= n or time.monotonic() > deadline:
                return count, ids
            time.sleep(0.3)

    def queue_depth(self) -> int:
        q = EventQueue(self.state / "events.sqlite3")
        try:
            return q.depth()
        finally:
            q.close()

    def close(self) -> None:
        for p in [*self.bridges, self.gate]:
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(10)
