"""Shared fixtures: an issuing authority, generated frames, gate configs, hardware fakes."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device.config import from_dict
from protocol.token import TrustStore, encode_public_key, issue_token
from sim.frames import Shot, compose, render_qr

NOW = datetime(2021, 9, 15, 1, 30, tzinfo=UTC)  # 08:30 in Hồ Chí Minh City
T = int(NOW.timestamp())
DAY = 86400
# A chip ID card's QR: citizen id|old id|name|birth date|sex|address|issue date
SEVEN = "079203001234|025123456|Nguyễn Thị Vân Anh|01011990|Nữ|Số 12, Bến Nghé, Quận 1, TP.HCM|15082021"


class Authority:
    def __init__(self):
        self.key = Ed25519PrivateKey.generate()
        self.public = encode_public_key(self.key.public_key())
        self.trust = TrustStore.from_public_keys([self.public])

    def token(self, decl="VHD-2021-000123", name="Nguyễn Thị Vân Anh", iat=T - DAY, exp=T + 14 * DAY):
        return issue_token(self.key, decl, name, iat, exp)

    def live_token(self, decl="VHD-2021-000123", name="Nguyễn Thị Vân Anh"):
        """Valid now, for programs that read the real clock."""
        now = int(time.time())
        return issue_token(self.key, decl, name, now - DAY, now + DAY)


@pytest.fixture(scope="session")
def authority() -> Authority:
    return Authority()


@pytest.fixture
def gate_config(tmp_path, authority):
    def make(**sections):
        data = {
            "gate": {"device_id": "gate-test-01", "checkpoint_id": "CP-TEST",
                     "checkpoint_name": "Trạm kiểm tra", "state_dir": str(tmp_path / "state")},
            "display": {"driver": "none"},
            "signals": {"driver": "none"},
            "trust": {"public_keys": [authority.public]},
        }
        for name, values in sections.items():
            data.setdefault(name, {}).update(values)
        return from_dict(data)

    return make


def _frames_for(*payloads):
    """A camera frame of each payload's QR (None: an empty frame)."""
    return [compose(render_qr(p), Shot(size=240, angle=i * 7), seed=i) if p else
            np.full((480, 640), 90, np.uint8) for i, p in enumerate(payloads)]


def _run_frames(parts, clock, step=2.0):
    """Every frame the camera has through the gate, `step` seconds apart; the outcomes."""
    results = []
    while True:
        frame = parts.gate.camera.read()
        if frame is None:
            return results
        results += parts.gate.process_frame(frame)
        clock.advance(step)
        parts.gate.tick()


@pytest.fixture
def frames_for():
    return _frames_for


@pytest.fixture
def run_frames():
    return _run_frames


@pytest.fixture
def make_gate(gate_config):
    """A whole gate built by the daemon's composition root, with fakes for the hardware:
    make_gate(frames, ...) -> (parts, clock)."""
    from device.clock import ManualClock
    from device.daemon import build
    from drivers.camera import FrameListCamera
    from drivers.signals import RecordingSignals

    def make(frames, signals=None, display=None, clock=None, sections=None, camera=None,
             on_progress=lambda: None):
        cfg = gate_config(**(sections or {}))
        clock = clock or ManualClock(NOW)
        parts = build(cfg, clock=clock, camera=camera or FrameListCamera(frames), display=display,
                      signals=signals or RecordingSignals(), on_progress=on_progress)
        return parts, clock

    return make


@pytest.fixture
def mock_factory():
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    saved = Device.pin_factory
    factory = MockFactory(pin_class=MockPWMPin)
    yield factory
    factory.reset()
    Device.pin_factory = saved


@pytest.fixture
def careless_umask():
    """umask 000, as a careless shell or service would have: private files must stay private."""
    import os

    saved = os.umask(0)
    yield
    os.umask(saved)


from tests.services import django_script, gateway, mosquitto, pg_replica, pg_url  # noqa: E402,F401  (fixtures)
