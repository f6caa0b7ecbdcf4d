"""The whole gate on generated frames: real decoder, luma dummy panel, gpiozero MockFactory."""

from datetime import timedelta

import numpy as np
import pytest
from luma.core.device import dummy

from device.queue import EventQueue
from drivers.display import LumaDisplay
from drivers.signals import GpioSignals, RecordingSignals
from protocol.messages import CentralConfig as CentralMessage
from protocol.messages import GateSettings
from tests.conftest import NOW, SEVEN


class CheckingDisplay(LumaDisplay):
    """A luma dummy that notes how many events were committed whenever a screen goes up."""

    def __init__(self, queue_path):
        super().__init__(dummy(width=128, height=64, mode="1"))
        self.queue_path = queue_path
        self.committed_at_show = []

    def show(self, image):
        super().show(image)
        if self.queue_path.exists():
            # A separate connection sees only what is committed.
            other = EventQueue(self.queue_path)
            self.committed_at_show.append(other.depth())
            other.close()


def test_events_are_committed_before_feedback(gate_config, authority, tmp_path, mock_factory, make_gate, frames_for,
                                              run_frames):
    frames = frames_for(authority.token(), SEVEN)
    cfg = gate_config()
    display = CheckingDisplay(tmp_path / "state" / "events.sqlite3")
    signals = GpioSignals(18, 23, 24, pin_factory=mock_factory)
    parts, clock = make_gate(frames, signals=signals, display=display)
    try:
        results = run_frames(parts, clock, step=10)
    finally:
        parts.close()
    assert [r.decision.outcome for r in results] == ["accepted", "accepted"]
    # Result screens went up with 1, then 2 events already committed.
    result_shows = [n for n in display.committed_at_show if n > 0]
    assert result_shows[:1] == [1] and 2 in result_shows
    assert cfg.gate.checkpoint_id == results[0].event.checkpoint_id
    assert [s.state for s in mock_factory.pin(23).states][1:2] == [1]


def test_repeat_hold_and_check_out(gate_config, authority, make_gate, frames_for):
    tok = authority.token()
    # Same code in three consecutive frames (held up), then again after 3 s, then after ten minutes.
    frames = frames_for(tok, tok, tok)
    parts, clock = make_gate(frames)
    gate = parts.gate
    try:
        out = []
        for _ in range(3):
            out += gate.process_frame(gate.camera.read())
            clock.advance(0.2)
        assert [r.decision.outcome for r in out] == ["accepted"]  # held up: one decision
        clock.advance(3)
        gate.camera.add(frames_for(tok))
        again = gate.process_frame(gate.camera.read())
        assert [r.decision.outcome for r in again] == ["repeat"]
        assert again[0].event is None and gate.queue.depth() == 1
        clock.advance(600)  # past the minimum stay: leaving, not a second scan at the door
        gate.camera.add(frames_for(tok))
        leave = gate.process_frame(gate.camera.read())
        assert [(r.decision.outcome, r.decision.direction) for r in leave] == [("accepted", "out")]
        assert gate.queue.depth() == 2
        assert parts.gate.signals.played == ["accepted", "repeat", "accepted"]
    finally:
        parts.close()


def test_refusals_make_no_events_and_say_why(gate_config, authority, make_gate, frames_for, run_frames):
    expired = authority.token(exp=int((NOW - timedelta(days=1)).timestamp()),
                              iat=int((NOW - timedelta(days=20)).timestamp()))
    frames = frames_for(expired, "https://example.org/", SEVEN.replace("01011990", "32011990"), None)
    parts, clock = make_gate(frames, display=LumaDisplay(dummy(mode="1")))
    try:
        results = run_frames(parts, clock)
        assert [r.decision.reason for r in results] == ["expired", "not_a_declaration", "invalid_cccd"]
        assert parts.gate.queue.depth() == 0
        assert parts.gate.signals.played == ["rejected"] * 3
    finally:
        parts.close()


def test_cccd_refused_when_config_says_so(gate_config, make_gate, frames_for, run_frames):
    parts, clock = make_gate(frames_for(SEVEN), sections={"policy": {"accept_cccd": False}})
    try:
        assert [r.decision.reason for r in run_frames(parts, clock)] == ["cccd_not_accepted"]
    finally:
        parts.close()


def test_relay_pulsed_only_on_accepted(gate_config, authority, make_gate, frames_for, run_frames):
    signals = RecordingSignals()
    parts, clock = make_gate(frames_for(authority.token(), "junk"), signals=signals,
                             sections={"signals": {"relay_pin": 21, "relay_pulse_seconds": 0.8}})
    try:
        run_frames(parts, clock)
    finally:
        parts.close()
    assert signals.played == ["accepted", "rejected"] and signals.relay_pulses == [0.8]


def test_full_store_refuses_scan_with_storage_error(gate_config, authority, make_gate, frames_for, run_frames):
    parts, clock = make_gate(frames_for(authority.token()))
    gate = parts.gate
    gate.queue.close()
    gate.queue = EventQueue(gate.queue.path, max_pages=12)
    from device.queue import QueueError
    from tests.test_policy_queue import event

    try:
        for n in range(10_000):  # fill the store until it is full
            try:
                gate.queue.record(event(n))
            except QueueError:
                break
        filled = gate.queue.depth()
        results = run_frames(parts, clock)
        assert gate.queue.depth() == filled
    finally:
        parts.close()
    assert [(r.decision.outcome, r.decision.reason) for r in results] == [("rejected", "storage_error")]
    assert gate.signals.played == ["rejected"]


def test_idle_screen_returns_after_feedback(gate_config, authority, make_gate, frames_for):
    display = LumaDisplay(dummy(width=128, height=64, mode="1"))
    parts, clock = make_gate(frames_for(authority.token()), display=display)
    gate = parts.gate
    try:
        gate.tick()
        idle = display.device.image.copy()
        gate.process_frame(gate.camera.read())
        result = display.device.image.copy()
        clock.advance(1)
        gate.tick()
        assert display.device.image.tobytes() == result.tobytes()  # result still up
        clock.advance(gate.cfg.policy.feedback_seconds)
        gate.tick()
        back = display.device.image
        assert back.tobytes() != result.tobytes()
        # Idle again, now saying one event is queued.
        assert back.tobytes() != idle.tobytes()
        assert np.asarray(back.convert("L"))[:, 64:].mean() > 100  # the checkpoint QR panel
    finally:
        parts.close()


@pytest.mark.parametrize("portal", ["", "https://khaibao.example"])
def test_checkpoint_qr_on_idle_screen_decodes(gate_config, portal):
    """The idle screen's QR: the portal's page for the checkpoint (a phone camera opens it), or
    the bare id form where the gate has no portal address."""
    from device.screens import IdleInfo, Screens
    from drivers.decoder import make_decoder
    from protocol.checkpoint import checkpoint_from_url

    img = Screens().idle(IdleInfo("CP-Q1-0001", "Trường THCS Nguyễn Du", "auto", "online", 3, NOW, portal))
    big = img.convert("L").resize((512, 256), 0)
    found = make_decoder("zxing").decode(np.asarray(big))
    assert [d.text for d in found] == [f"{portal}/c/CP-Q1-0001" if portal else "VHDCP:CP-Q1-0001"]
    assert checkpoint_from_url(found[0].text) == "CP-Q1-0001"


def test_portal_address_comes_from_config_and_the_centre(gate_config, tmp_path):
    from device.central import merge
    from device.config import ConfigError

    cfg = gate_config(gate={"portal_url": "https://khaibao.example"})
    assert cfg.gate.portal_url == "https://khaibao.example"
    assert merge(cfg, CentralMessage(gate=GateSettings(portal_url="https://khaibao.hcm.example"))).gate.portal_url.endswith("hcm.example")
    # an address Python cannot parse (an unclosed IPv6 host, a port past 65535) is refused by name,
    # not a ValueError out of the message handler ("Invalid IPv6 URL" and a traceback in the log)
    for bad in ("javascript:alert(1)", "https://[", "https://khaibao.example:99999", "https://]x"):
        with pytest.raises(ConfigError, match="portal_url"):
            merge(cfg, CentralMessage(gate=GateSettings(portal_url=bad)))
