"""`vhd-gate selftest` says plainly what works and what does not."""

import numpy as np
from luma.core.device import dummy

from device.selftest import run_selftest
from drivers.camera import FrameListCamera
from drivers.display import LumaDisplay
from drivers.signals import RecordingSignals


def run(cfg, frames, **kw):
    lines = []
    rc = run_selftest(cfg, out=lines.append, camera=FrameListCamera(frames),
                      display=kw.get("display") or LumaDisplay(dummy(mode="1")),
                      signals=kw.get("signals") or RecordingSignals())
    return rc, {line.split()[1]: line for line in lines[:-1]}, lines[-1]


def test_everything_reported_and_the_broker_login_checked(gate_config, mosquitto):
    cfg = gate_config(mqtt={"url": mosquitto.url})
    display = LumaDisplay(dummy(mode="1"))
    signals = RecordingSignals()
    rc, checks, last = run(cfg, [np.full((480, 640), 120, np.uint8)], display=display, signals=signals)
    for name in ("storage", "font", "decoder", "camera", "display", "buzzer/LEDs", "broker", "clock"):
        assert name in checks
    for name in ("storage", "font", "decoder", "camera", "display", "buzzer/LEDs", "broker"):
        assert checks[name].startswith("OK"), checks[name]
    assert "640x480" in checks["camera"] and "logged in" in checks["broker"]
    assert display.device.image is not None and np.asarray(display.device.image).any()
    assert signals.played == ["accepted", "rejected"]
    # The clock check depends on this machine's NTP state: either answer, in words.
    assert checks["clock"].startswith(("OK", "FAIL")) and ("synchronised" in checks["clock"])
    assert (rc == 0) == last.startswith("all checks passed")


def test_failures_say_what_is_wrong(gate_config, tmp_path):
    from provisioning.mosquitto import free_port

    cfg = gate_config(mqtt={"url": f"mqtt://127.0.0.1:{free_port()}"})
    rc, checks, last = run(cfg, [np.zeros((480, 640), np.uint8)])
    assert rc == 1
    assert checks["camera"].startswith("FAIL") and "black" in checks["camera"]
    assert checks["broker"].startswith("FAIL") and "cannot reach broker" in checks["broker"]
    assert "check(s) failed" in last
    rc, checks, _ = run(cfg, [])
    assert "no frame" in checks["camera"]
