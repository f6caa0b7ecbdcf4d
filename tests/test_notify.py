"""systemd notify and watchdog against a real AF_UNIX datagram socket."""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from common.notify import Notifier
from device.clock import ManualClock
from drivers.camera import FrameListCamera
from tests.chain import crowd
from tests.conftest import NOW
from tests.services import wait_until, write_gate_config

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def notify_socket(tmp_path):
    path = tmp_path / "notify.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(path))
    s.settimeout(0.2)
    got: list[str] = []
    stop = threading.Event()

    def pump():
        while not stop.is_set():
            try:
                got.append(s.recv(4096).decode())
            except TimeoutError:
                continue
            except OSError:
                return

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    yield str(path), got
    stop.set()
    t.join(2)
    s.close()


def test_notifier_messages_and_watchdog_rate(notify_socket):
    path, got = notify_socket
    n = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
    assert n.watchdog_interval == pytest.approx(0.1)
    n.ready("scanning")
    t0 = time.monotonic()
    for _ in range(50):  # 50 frames: one ping per 0.1 s at most, however many frames
        n.progress()
        time.sleep(0.005)
    elapsed = time.monotonic() - t0
    n.stopping()
    assert wait_until(lambda: got and got[-1] == "STOPPING=1", 5, step=0.02)
    assert got[0] == "READY=1\nSTATUS=scanning"
    pings = got.count("WATCHDOG=1")
    assert 2 <= pings <= elapsed / 0.1 + 1
    assert got[-1] == "STOPPING=1"


def test_no_socket_no_watchdog_is_harmless():
    n = Notifier({})
    assert n.watchdog_interval is None and not n.send("READY=1")
    assert Notifier({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}).watchdog_interval is None


class StalledCamera(FrameListCamera):
    """Delivers a few frames, then hangs as a wedged camera does."""

    def __init__(self, frames, release: threading.Event):
        super().__init__(frames)
        self.release = release
        self.stalled = threading.Event()

    def read(self):
        frame = super().read()
        if frame is None:
            self.stalled.set()
            self.release.wait(5)
        return frame


def test_watchdog_only_pinged_while_frames_are_processed(notify_socket, gate_config, authority, make_gate, frames_for):
    path, got = notify_socket
    release = threading.Event()
    n = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000"})
    camera = StalledCamera(frames_for(authority.token(), None, None), release)
    parts, clock = make_gate([], clock=ManualClock(NOW), on_progress=n.progress, camera=camera)
    gate = parts.gate
    stop = threading.Event()
    t = threading.Thread(target=gate.run, args=(stop,))
    t.start()
    assert camera.stalled.wait(10)
    assert wait_until(lambda: len(got) >= 1, 5, step=0.02)  # the pings of the frames taken
    during_stall = len(got)
    time.sleep(0.5)  # a window in which nothing may come: absence takes a duration to observe
    assert len(got) == during_stall  # the camera hangs: no frames, no pings
    assert 1 <= during_stall <= 3
    stop.set()
    release.set()
    t.join(5)
    parts.close()


def test_daemon_notifies_ready_watchdog_and_stopping(notify_socket, tmp_path, authority):
    path, got = notify_socket
    frames = crowd(tmp_path / "frames", authority, 5)
    cfg = write_gate_config(tmp_path / "gate.toml", authority, tmp_path / "state")
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="200000")
    r = subprocess.run([sys.executable, "-m", "device.cli", "run", "--config", str(cfg),
                        "--camera", f"images:{frames}?fps=20&repeat=4"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert wait_until(lambda: got and got[-1] == "STOPPING=1", 5, step=0.02)
    assert got[0].startswith("READY=1")
    assert got.count("WATCHDOG=1") >= 2
    assert got[-1] == "STOPPING=1"
