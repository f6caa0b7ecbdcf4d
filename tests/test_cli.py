"""The `vhd-gate` command as a technician and the daemon's supervisor meet it."""

import json
import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from device.cli import main
from device.queue import EventQueue
from sim.frames import Shot, compose, render_qr, save_frame
from tests.conftest import SEVEN
from tests.services import StderrReader
from tests.services import write_gate_config as write_config

ROOT = Path(__file__).resolve().parent.parent


def test_check_config_ok_and_errors_name_key_and_file(tmp_path, authority, capsys):
    good = write_config(tmp_path / "gate.toml", authority, tmp_path / "s")
    assert main(["check-config", str(good)]) == 0
    assert "OK" in capsys.readouterr().out
    cases = {
        "[gate]\ndevice_idd = 'x'\n": "gate.device_idd: unknown key",
        "[policy]\ndebounce_seconds = 'five'\n": "policy.debounce_seconds: expected float",
        "[gate]\ndirection = 'up'\n": "gate.direction",
        "[camera\n": "not valid TOML",
        "[trust]\npublic_keys = ['abc']\n": "trust.public_keys",
        "[signals]\nrgb_led_pins = [1, 2]\n": "signals.rgb_led_pins",
        "[webcam]\n": "webcam: unknown key",
        # numbers a daemon would fail on later, at the door: each refused here, naming its range
        "[policy]\nfeedback_seconds = nan\n": "policy.feedback_seconds: expected a number, got nan",
        "[policy]\nfeedback_seconds = 1e999\n": "policy.feedback_seconds: expected a number, got inf",
        "[policy]\ndebounce_seconds = -inf\n": "policy.debounce_seconds: expected a number",
        "[policy]\nmin_stay_minutes = -1\n": "policy.min_stay_minutes: -1.0 is outside 0..1440",
        "[camera]\nframerate = 0\n": "camera.framerate: 0.0 is outside 1..120",
        "[camera]\ncrop = [0.1, 0.1, nan, 0.5]\n": "camera.crop[2]: expected a number",
        "[signals]\nbuzzer_pin = 40\n": "signals.buzzer_pin: 40 is outside 0..27",
        "[signals]\nrgb_led_pins = [5, 6, -13]\n": "signals.rgb_led_pins: -13 is outside 0..27",
        "[mqtt]\nkeepalive = 0\n": "mqtt.keepalive: 0 is outside 5..65535",
        "[gate]\ncheckpoint_id = 'CP Q1'\n": "gate.checkpoint_id: ASCII letters and digits",  # the centre's rule
        "[mqtt]\nbackoff_min_seconds = 10\nbackoff_max_seconds = 5\n": "less than backoff_min_seconds",
        "# " + "x" * 300_000 + "\n": "too large for a gate's config",  # /dev/zero was read until memory ran out
        "[gate]\ndevice_id = '\udcff'\n": "not valid TOML",
        "a = " + "[" * 5000 + "]" * 5000 + "\n": "nested too deeply",  # tomllib's RecursionError was a traceback
    }
    for text, message in cases.items():
        bad = tmp_path / "bad.toml"
        bad.write_text(text, errors="surrogateescape")
        assert main(["check-config", str(bad)]) == 2
        err = capsys.readouterr().err
        assert message in err and str(bad) in err and "Traceback" not in err
    assert main(["check-config", str(tmp_path / "missing.toml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_decode_prints_json_lines(tmp_path, authority, capsys):
    files = []
    for i, payload in enumerate([authority.live_token(name="Trần Thị Ngọc Ánh"), SEVEN, "https://x.example/"]):
        p = tmp_path / f"{i}.png"
        save_frame(compose(render_qr(payload), Shot(size=240, angle=10 * i)), p)
        files.append(str(p))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG broken")
    files.append(str(tmp_path / "broken.png"))
    files.append(str(tmp_path / "missing.png"))
    # 20000 x 20000 pixels in 50 kB: Pillow's own refusal was a traceback, and under its limit a
    # file decoded into hundreds of megabytes. An EPS named .png went to Ghostscript where installed.
    from PIL import Image

    Image.new("1", (20000, 20000)).save(tmp_path / "bomb.png")
    Image.new("1", (10000, 6000)).save(tmp_path / "big.png")  # under Pillow's limit, over a 48 MP photo
    (tmp_path / "eps.png").write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n")
    os.mkfifo(tmp_path / "pipe.png")  # no writer: reading it waited for ever
    files += [str(tmp_path / "bomb.png"), str(tmp_path / "big.png"), str(tmp_path / "eps.png"),
              str(tmp_path / "pipe.png"), str(tmp_path)]
    cfg = write_config(tmp_path / "gate.toml", authority, tmp_path / "s")
    assert main(["decode", "--config", str(cfg), *files]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Warning" not in err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["file"] for line in lines] == files
    tok, card, url, broken, missing, bomb, big, eps, pipe, folder = lines
    assert pipe["error"] == "not a regular file (a pipe, a device or a socket)"
    assert folder["error"] == "Is a directory"
    assert bomb["error"] == "too large: more than 50 million pixels"
    assert big["error"] == "too large: 10000x6000 pixels (at most 50 million)"
    assert eps["error"] == "not a PNG, JPEG, BMP, PGM/PPM, WebP, GIF or TIFF image"
    assert tok["codes"] == [{"text": tok["codes"][0]["text"], "kind": "vhd", "accepted": True,
                             "reason": None, "name": "Trần Thị Ngọc Ánh"}]
    assert card["codes"][0]["kind"] == "cccd" and card["codes"][0]["name"] == "Nguyễn Thị Vân Anh"
    assert url["codes"][0] == {"text": "https://x.example/", "kind": "unknown", "accepted": False,
                               "reason": "not_a_declaration", "name": None}
    assert "error" in broken and "codes" not in broken
    assert "error" in missing


def test_decode_with_a_config_trusts_what_the_running_gate_trusts(tmp_path, authority, capsys):
    """A key the centre revoked on the config topic is refused by `decode --config` as the gate
    refuses it: one source of truth, read without touching the gate's state."""
    from device.central import CentralConfig
    from device.config import load
    from protocol.messages import CentralConfig as Message
    from protocol.messages import TrustSettings
    from protocol.token import key_id

    p = tmp_path / "t.png"
    save_frame(compose(render_qr(authority.live_token()), Shot()), p)
    cfg = write_config(tmp_path / "gate.toml", authority, tmp_path / "s")
    kid = key_id(authority.key.public_key())
    (tmp_path / "s").mkdir()
    assert CentralConfig(tmp_path / "s", load(cfg)).handle(Message(trust=TrustSettings(revoked_key_ids=[kid]))) is None
    saved = (tmp_path / "s" / "central-config.json").stat()
    assert main(["decode", "--config", str(cfg), str(p)]) == 0
    (code,) = json.loads(capsys.readouterr().out)["codes"]
    assert (code["accepted"], code["reason"]) == (False, "revoked_key")
    assert (tmp_path / "s" / "central-config.json").stat().st_mtime_ns == saved.st_mtime_ns


def test_decode_without_trust_keys_says_it_cannot_check(tmp_path, authority, capsys):
    p = tmp_path / "t.png"
    save_frame(compose(render_qr(authority.live_token()), Shot()), p)
    assert main(["decode", "--decoder", "zbar", str(p)]) == 0
    (code,) = json.loads(capsys.readouterr().out)["codes"]
    assert (code["kind"], code["accepted"], code["reason"]) == ("vhd", False, "no_trust_keys")


def test_screens_renders_every_screen(tmp_path, capsys):
    assert main(["screens", "--out", str(tmp_path), "--lang", "en"]) == 0
    names = sorted(p.name for p in tmp_path.glob("*.png"))
    assert "en-idle-online.png" in names and "en-rejected-deleted_declaration.png" in names
    assert len(names) == 17
    (tmp_path / "a-file").write_text("")
    for out in (tmp_path / "a-file", tmp_path / "a-file" / "below"):  # were tracebacks from mkdir
        assert main(["screens", "--out", str(out)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"vhd-gate: {out}: ") and len(err.strip().splitlines()) == 1


def test_a_font_file_that_is_not_a_font_is_told_at_start(tmp_path, capsys):
    (tmp_path / "copied.ttf").write_bytes(b"<html>a download page, saved as the font</html>")
    cfg = tmp_path / "gate.toml"
    cfg.write_text(f'[display]\ndriver = "png"\npng_dir = "{tmp_path / "png"}"\nfont = "{tmp_path / "copied.ttf"}"\n')
    assert main(["screens", "--config", str(cfg), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "copied.ttf: not a font Pillow can read" in err and len(err.strip().splitlines()) == 1


def test_demo_runs_end_to_end(tmp_path, capsys):
    from sim.cli import main as sim

    kept = tmp_path / "demo" / "portal" / "portal.sqlite3"  # `make portal`'s people: the demo deleted them
    kept.parent.mkdir(parents=True)
    kept.write_text("theirs")
    old = os.umask(0o022)  # the usual umask: its files came out readable by every user
    try:
        assert sim(["demo", "--out", str(tmp_path / "demo")]) == 0
        assert sim(["demo", "--out", str(tmp_path / "demo")]) == 0  # again, over what the first left
    finally:
        os.umask(old)
    assert kept.read_text() == "theirs"
    out = capsys.readouterr().out
    for folder in (tmp_path / "demo", tmp_path / "demo" / "frames", tmp_path / "demo" / "screens"):
        assert folder.stat().st_mode & 0o077 == 0, folder  # the frames' QR codes hold names and id numbers
    for expected in ("ACCEPTED  IN  Nguyễn Thị Vân Anh", "REPEAT", "expired", "bad_signature",
                     "not_a_declaration", "invalid_cccd", "OUT Nguyễn Thị Vân Anh"):
        assert expected in out
    assert len(list((tmp_path / "demo" / "screens").glob("*.png"))) >= 10
    # Five accepted scans (three declarations, two cards), all delivered to the centre's database.
    assert EventQueue(tmp_path / "demo" / "state" / "events.sqlite3").depth() == 0
    assert "declaration database" in out and "5 check-in(s)" in out
    from mqtt_bridge.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'demo' / 'centre.sqlite3'}")
    assert [(c.direction, c.subject) for c in store.checkins()] == [
        ("in", "VHD-2021-000123"), ("in", "VHD-2021-000456"), ("in", "079203001234"),
        ("in", "001190012345"), ("out", "VHD-2021-000123")]


def test_run_with_bad_camera_is_one_clear_line(tmp_path, authority):
    cfg = write_config(tmp_path / "gate.toml", authority, tmp_path / "s")
    r = subprocess.run([sys.executable, "-m", "device.cli", "run", "--config", str(cfg),
                        "--camera", f"images:{tmp_path / 'nowhere'}"], capture_output=True, text=True,
                       cwd=ROOT, timeout=60)
    assert r.returncode == 1
    assert "does not exist" in r.stderr and "Traceback" not in r.stderr


@pytest.fixture
def crowd(tmp_path, authority):
    """Forty different people's codes as camera frames."""
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(40):
        tok = authority.live_token(decl=f"VHD-2021-{i:06d}", name=f"Người Thứ {i}")
        frame = compose(render_qr(tok), Shot(size=230, angle=i * 9 % 360), seed=i)
        save_frame(frame, folder / f"{i:03d}.png")
    return folder


def test_sigkill_mid_stream_loses_no_event_that_got_feedback(tmp_path, authority, crowd):
    state = tmp_path / "state"
    cfg = write_config(tmp_path / "gate.toml", authority, state, "[policy]\ndebounce_seconds = 0\n")
    proc = subprocess.Popen([sys.executable, "-m", "device.cli", "run", "--config", str(cfg),
                             "--camera", f"images:{crowd}?fps=25&loop"],
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    acked = []
    try:
        for line in StderrReader(proc).follow(timeout=60):
            m = re.search(r"feedback accepted .*event=([0-9a-f-]{36})", line)
            if m:
                acked.append(m.group(1))
            if len(acked) >= 25:
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert len(acked) >= 25
    stored = EventQueue(state / "events.sqlite3").event_ids()
    assert set(acked) <= stored


def _looping_gate(tmp_path, authority, crowd):
    """A gate daemon over the crowd's frames, endlessly: its config, process and log reader."""
    cfg = write_config(tmp_path / "gate.toml", authority, tmp_path / "state")
    proc = subprocess.Popen([sys.executable, "-m", "device.cli", "run", "--config", str(cfg),
                             "--camera", f"images:{crowd}?fps=10&loop"],
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    return cfg, proc, StderrReader(proc)


def test_sigterm_stops_cleanly(tmp_path, authority, crowd):
    _, proc, reader = _looping_gate(tmp_path, authority, crowd)
    try:
        assert any("feedback accepted" in line for line in reader.follow(timeout=60))
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        err = reader.rest()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "stopping" in err and "Traceback" not in err


def test_selftest_and_a_second_daemon_refuse_while_the_gate_runs(tmp_path, authority, crowd):
    """The README's selftest while vhd-gate runs would take the gate's camera and broker session:
    it says to stop the service instead, and so does a second daemon on the same state."""
    cfg, proc, reader = _looping_gate(tmp_path, authority, crowd)
    try:
        assert any("running" in line for line in reader.follow(timeout=60))
        for command in (["selftest", "--config", str(cfg)],
                        ["run", "--config", str(cfg), "--camera", f"images:{crowd}"]):
            r = subprocess.run([sys.executable, "-m", "device.cli", *command], capture_output=True, text=True,
                               cwd=ROOT, timeout=60)
            assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
            assert f"(pid {proc.pid})" in r.stderr and "sudo systemctl stop vhd-gate" in r.stderr, r.stderr
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    r = subprocess.run([sys.executable, "-m", "device.cli", "selftest", "--config", str(cfg)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "the gate is running" not in r.stdout + r.stderr and "OK    storage" in r.stdout


def test_shipped_example_config_is_valid(capsys):
    assert main(["check-config", str(ROOT / "device" / "gate.example.toml")]) == 0


def test_queue_shows_what_the_gate_holds_without_names_or_ids(tmp_path, authority, capsys):
    import csv
    import io

    from device.config import load
    from protocol.event import Event, format_time, uuid7

    cfg_path = write_config(tmp_path / "gate.toml", authority, tmp_path / "state")
    cfg = load(cfg_path)
    q = EventQueue(tmp_path / "state" / "events.sqlite3")
    now = 1_790_000_000

    def event(i: int, subject: str) -> Event:
        return Event.from_dict({
            "event_id": uuid7(now * 1000 + i, bytes(10)), "device_id": cfg.gate.device_id,
            "checkpoint_id": cfg.gate.checkpoint_id, "direction": "in", "kind": "cccd", "subject": subject,
            "display_name": "Nguyễn Thị Vân Anh", "scanned_at": format_time(datetime.fromtimestamp(now + i, UTC)),
            "mono_ns": i, "boot_id": "b", "time_synced": True, "firmware": "t", "schema": 1})

    events = [event(i, f"07920300{i:04d}") for i in range(3)]
    q.record_many(events)
    q.refuse({events[0].event_id: "implausible_time"})
    q.close()
    assert main(["queue", "--config", str(cfg_path)]) == 0
    out = capsys.readouterr().out
    assert "2 event(s) waiting" in out and "1 event(s) refused by the centre (implausible_time: 1)" in out
    assert main(["queue", "--config", str(cfg_path), "--export", "csv"]) == 0
    text = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["state"] for r in rows] == ["waiting", "waiting", "refused"]
    assert rows[2]["reason"] == "implausible_time" and rows[2]["event_id"] == events[0].event_id
    assert "079203" not in text and "Nguyễn" not in text  # keyed tags, as the gate's log shows them
    assert len({r["who"] for r in rows}) == 3 and all(len(r["who"]) == 16 for r in rows)
    assert main(["queue", "--config", str(cfg_path), "--export", "jsonl", "--refused"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["reason"] == "implausible_time"
    empty = write_config(tmp_path / "other.toml", authority, tmp_path / "nowhere")
    assert main(["queue", "--config", str(empty)]) == 1
    assert "no gate queue in" in capsys.readouterr().err
