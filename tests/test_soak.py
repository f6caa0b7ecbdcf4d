"""Liveness under random faults: after the last fault every queued event is stored within a bound."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from urllib.parse import urlparse

import numpy as np
import pytest

from device.queue import EventQueue
from mqtt_bridge.locate import migrate_database
from mqtt_bridge.store import open_store
from protocol.event import Event, format_time, uuid7
from tests.chain import ROOT, via_port
from tests.services import TcpProxy, write_gate_config

DEVICE, CHECKPOINT = "gate-soak-01", "CP-SOAK"
ACK_TIMEOUT_S, BACKOFF_MAX_S = 3.0, 2.0
# What the uplink promises: once broker, bridge and database are back, every queued event is
# acked within one ack timeout (a batch lost in a fault) plus the longest reconnect backoff.
# The rest of the margin is for processes starting (a bridge restarted last needs a second).
BOUND_S = ACK_TIMEOUT_S + BACKOFF_MAX_S + 10
SEEDS = [int(s) for s in os.environ.get("VHD_SOAK_SEEDS", "1,2,3,4,5").split(",")]


class Soak:
    """A gate daemon whose queue the test fills as its scan loop would (1,500 people passing),
    a bridge as its own process, the test's broker, and PostgreSQL behind a cuttable proxy."""

    def __init__(self, tmp, authority, pg_url, broker, rng: random.Random):
        self.tmp, self.broker, self.rng = tmp, broker, rng
        u = urlparse(pg_url)
        self.proxy = TcpProxy(u.hostname or "127.0.0.1", u.port or 5432)
        self.db_url = via_port(pg_url, self.proxy.port)
        self.pg_url = pg_url
        migrate_database(pg_url)  # what `vhd-centre migrate` does at install
        store = open_store(pg_url)
        store.add_checkpoint(CHECKPOINT, "Cổng thử tải")
        store.add_device(DEVICE, CHECKPOINT)
        store.close()
        frames = tmp / "frames"
        frames.mkdir()
        from sim.frames import save_frame

        save_frame(np.full((480, 640), 200, np.uint8), frames / "empty.png")  # a door with nobody at it
        self.state = tmp / "state"
        self.config = write_gate_config(tmp / "gate.toml", authority, self.state, extra=f"""
[mqtt]
batch_size = 50
window = 4
ack_timeout_seconds = {ACK_TIMEOUT_S}
backoff_min_seconds = 0.1
backoff_max_seconds = {BACKOFF_MAX_S}
telemetry_seconds = 1
keepalive = 5
""", device_id=DEVICE, checkpoint_id=CHECKPOINT)
        self.camera = f"images:{frames}?fps=5&loop"
        self.queue = EventQueue(self.state / "events.sqlite3")
        self.recorded: list[str] = []
        self.bridge: subprocess.Popen | None = None
        self.gate: subprocess.Popen | None = None

    def start_bridge(self) -> None:
        self.bridge = subprocess.Popen([sys.executable, "-m", "mqtt_bridge.cli", "run", "--broker",
                                        self.broker.url, "--db", self.db_url], cwd=ROOT,
                                       stderr=subprocess.DEVNULL)

    def start_gate(self) -> None:
        self.gate = subprocess.Popen([sys.executable, "-m", "device.cli", "run", "--config", str(self.config),
                                      "--broker", self.broker.url, "--camera", self.camera],
                                     cwd=ROOT, stderr=subprocess.DEVNULL)

    @staticmethod
    def _kill(proc: subprocess.Popen | None) -> None:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)

    def people(self, n: int) -> None:
        """n people check in, as the gate's scan loop records them."""
        now = datetime.now(UTC)
        for _ in range(n):
            i = len(self.recorded)
            ev = Event(event_id=uuid7(int(now.timestamp() * 1000), os.urandom(10)), device_id=DEVICE,
                       checkpoint_id=CHECKPOINT, direction="in", kind="vhd", subject=f"VHD-SOAK-{i:05d}",
                       display_name=f"Người Thứ {i}", scanned_at=format_time(now), mono_ns=time.monotonic_ns(),
                       boot_id="soak", time_synced=True, firmware="soak")
            self.queue.record(ev)
            self.recorded.append(ev.event_id)

    def faults(self, seconds: float, people: int) -> None:
        """Random faults for `seconds` while `people` pass; everything is running at the end."""
        end = time.monotonic() + seconds
        per_tick = max(1, people // int(seconds / 0.2))
        down: dict[str, float] = {}
        while time.monotonic() < end or down:
            now = time.monotonic()
            if len(self.recorded) < people:
                self.people(min(per_tick, people - len(self.recorded)))
            for what, until in list(down.items()):
                if now >= until:
                    del down[what]
                    {"broker": self.broker.start, "bridge": self.start_bridge, "gate": self.start_gate,
                     "database": self.proxy.restore}[what]()
            if now < end and self.rng.random() < 0.08:
                what = self.rng.choice(["broker", "bridge", "gate", "database"])
                if what not in down:
                    {"broker": self.broker.kill, "bridge": lambda: self._kill(self.bridge),
                     "gate": lambda: self._kill(self.gate), "database": self.proxy.cut}[what]()
                    down[what] = now + self.rng.uniform(0.2, 4.0 if what == "database" else 2.0)
            time.sleep(0.2)
        if len(self.recorded) < people:
            self.people(people - len(self.recorded))

    def stored(self) -> set[str]:
        store = open_store(self.pg_url)
        try:
            return {c.event_id for c in store.checkins()}
        finally:
            store.close()

    def close(self) -> None:
        for p in (self.gate, self.bridge):
            self._kill(p)
        self.queue.close()
        self.proxy.close()


@pytest.mark.parametrize("seed", SEEDS)
def test_random_faults_then_everything_delivered_within_the_bound(seed, tmp_path, authority, pg_url, mosquitto):
    soak = Soak(tmp_path, authority, pg_url, mosquitto, random.Random(seed))
    try:
        soak.start_bridge()
        soak.start_gate()
        soak.faults(seconds=12, people=1500)
        last_fault = time.monotonic()
        while time.monotonic() - last_fault < BOUND_S:
            if soak.queue.depth() == 0 and len(soak.stored()) == len(soak.recorded):
                break
            time.sleep(0.25)
        took = time.monotonic() - last_fault
        stored = soak.stored()
        missing = len(set(soak.recorded) - stored)
        assert missing == 0, f"seed {seed}: {missing} event(s) not stored {took:.0f} s after the last fault"
        assert stored == set(soak.recorded)
        store = open_store(pg_url)
        rows = store.query("SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM checkins")
        assert rows[0]["n"] == rows[0]["d"] == 1500  # exactly once
        fleet = next(r for r in store.device_rows() if r["device_id"] == DEVICE)
        store.close()
        assert fleet["oldest_unsent_s"] is not None  # a stall would show on the fleet page
    finally:
        soak.close()
