import json

import pytest

from device.central import merge
from device.config import ConfigError
from protocol import messages
from protocol.messages import CentralConfig as CentralMessage
from protocol.messages import MessageError
from protocol.token import key_id


def received(data) -> CentralMessage:
    """A config message as the gate receives it: through the protocol's decoder."""
    return messages.decode(json.dumps(data).encode(), CentralMessage)


def test_merge_allows_only_central_settings(gate_config):
    cfg = gate_config()
    new = merge(cfg, received({"policy": {"debounce_seconds": 9}, "gate": {"direction": "in"}}))
    assert new.policy.debounce_seconds == 9 and new.gate.direction == "in"
    assert new.gate.device_id == cfg.gate.device_id
    for bad in ({"gate": {"device_id": "evil"}}, {"mqtt": {"url": "mqtt://evil"}},
                {"policy": {"debounce_seconds": "soon"}}, []):
        with pytest.raises(MessageError):
            received(bad)
    with pytest.raises(ConfigError):  # a well-formed message whose result is not a valid config
        merge(cfg, received({"trust": {"public_keys": ["zz"]}}))


def test_revoked_key_from_centre_applies_and_survives_restart(authority, make_gate, frames_for, run_frames):
    parts, clock = make_gate(frames_for(authority.token(), authority.token(decl="D-2")))
    try:
        central = parts.central
        assert central.handle(received({"trust": {"revoked_key_ids": [key_id(authority.key.public_key())]}})) is None
        assert central.handle(received({"gate": {"portal_url": "javascript:alert(1)"}})) is not None  # refused
        results = run_frames(parts, clock)
        assert [r.decision.reason for r in results] == ["revoked_key", "revoked_key"]
    finally:
        parts.close()
    parts2, clock2 = make_gate(frames_for(authority.token()))
    try:
        assert [r.decision.reason for r in run_frames(parts2, clock2)] == ["revoked_key"]
    finally:
        parts2.close()
