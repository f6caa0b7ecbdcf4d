"""Shared fixtures: an issuing authority, generated frames, gate configs, hardware fakes."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from device.config import from_dict
from protocol.token import TrustStore, encode_public_key, issue_token

NOW = datetime(2021, 9, 15, 1, 30, tzinfo=UTC)  # 08:30 in Hồ Chí Minh City
T = int(NOW.timestamp())
DAY = 86400


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


from tests.services import mosquitto, pg_url  # noqa: E402,F401  (fixtures)
