import pytest

from device.central import CentralConfig, merge
from device.config import ConfigError
from protocol.token import key_id
from tests.test_gate import frames_for, make_gate, run_frames


def test_merge_allows_only_central_settings(gate_config):
    cfg = gate_config()
    new = merge(cfg, {"policy": {"debounce_seconds": 9}, "gate": {"direction": "in"}})
    assert new.policy.debounce_seconds == 9 and new.gate.direction == "in"
    assert new.gate.device_id == cfg.gate.device_id
    for bad in ({"gate": {"device_id": "evil"}}, {"mqtt": {"url": "mqtt://evil"}},
                {"policy": {"debounce_seconds": "soon"}}, {"trust": {"public_keys": ["zz"]}}, []):
        with pytest.raises(ConfigError):
            merge(cfg, bad)


def test_revoked_key_from_centre_applies_and_survives_restart(gate_config, authority, tmp_path):
    parts, clock = make_gate(gate_config, frames_for(authority.token(), authority.token(decl="D-2")))
    gate = parts.gate
    try:
        central = CentralConfig(tmp_path / "state", gate.cfg, gate.apply_config)
        assert central.handle({"trust": {"revoked_key_ids": [key_id(authority.key.public_key())]}}) is None
        assert central.handle({"gate": {"device_id": "x"}}) is not None  # refused, nothing changes
        results = run_frames(parts, clock)
        assert [r.decision.reason for r in results] == ["revoked_key", "revoked_key"]
    finally:
        parts.close()
    parts2, clock2 = make_gate(gate_config, frames_for(authority.token()))
    try:
        assert [r.decision.reason for r in run_frames(parts2, clock2)] == ["revoked_key"]
    finally:
        parts2.close()
