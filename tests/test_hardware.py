"""Drivers against the vendors' own fakes: gpiozero MockFactory, luma dummy, a picamera2 stand-in."""

import os
import time
import types

import numpy as np
import pytest
from luma.core.device import dummy
from PIL import Image

from device.feedback import PATTERNS
from drivers.camera import CameraError, DoorExposure, Picamera2Camera, open_camera
from drivers.display import DisplayError, LumaDisplay, PngDisplay, open_luma
from drivers.signals import GpioSignals


def states(pin):
    return [s.state for s in pin.states]


def wait_quiet(*devices, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        threads = [getattr(d, "_blink_thread", None) for d in devices if d is not None]
        if not any(t is not None and t.is_alive() for t in threads):
            return
        time.sleep(0.02)
    raise AssertionError("patterns did not finish")


@pytest.mark.parametrize("name, beeps, led", [("accepted", 1, "green"), ("repeat", 2, "green"),
                                              ("rejected", 3, "red")])
def test_patterns_on_two_leds(mock_factory, name, beeps, led):
    sig = GpioSignals(buzzer_pin=18, green_pin=23, red_pin=24, relay_pin=25, pin_factory=mock_factory)
    try:
        sig.play(PATTERNS[name])
        wait_quiet(sig.buzzer, sig.green, sig.red)
        buzzer = mock_factory.pin(18)
        on_edges = [s for s in states(buzzer)[1:] if s]
        assert len(on_edges) == beeps
        assert states(buzzer)[-1] in (0, False)
        lit, dark = (23, 24) if led == "green" else (24, 23)
        assert any(states(mock_factory.pin(lit))[1:])
        assert not any(states(mock_factory.pin(dark)))
        assert not any(states(mock_factory.pin(25)))  # relay stays shut unless pulsed
    finally:
        sig.close()


def test_patterns_are_distinct():
    seen = {(p.beeps, p.beep_on, p.led, p.blinks) for p in PATTERNS.values()}
    assert len(seen) == 3


def test_rgb_led_colour_and_relay_pulse(mock_factory):
    sig = GpioSignals(buzzer_pin=18, rgb_pins=(5, 6, 13), relay_pin=26, pin_factory=mock_factory)
    try:
        sig.play(PATTERNS["rejected"])
        sig.pulse_relay(0.1)
        time.sleep(0.05)
        assert mock_factory.pin(5).state > 0.9  # red
        assert mock_factory.pin(6).state == 0
        assert mock_factory.pin(26).state in (1, True)
        wait_quiet(sig.buzzer, sig.rgb, sig.relay)
        assert states(mock_factory.pin(26))[-1] in (0, False)
    finally:
        sig.close()


def test_pin_in_use_is_a_clear_error(mock_factory):
    from drivers.signals import SignalsError

    first = GpioSignals(buzzer_pin=18, pin_factory=mock_factory)
    try:
        with pytest.raises(SignalsError, match="GPIO"):
            GpioSignals(buzzer_pin=18, pin_factory=mock_factory)
    finally:
        first.close()


def test_luma_dummy_shows_mono_screen():
    from device.screens import Screens

    dev = dummy(width=128, height=64, mode="1")
    display = LumaDisplay(dev)
    img = Screens().accepted("Nguyễn Thị Vân Anh", "in", __import__("datetime").datetime(2021, 9, 15, 8, 31))
    display.show(img)
    assert dev.image.size == (128, 64) and dev.image.mode == "1"
    lit = np.asarray(dev.image.convert("L")) > 0
    assert 0.05 < lit.mean() < 0.6  # text drawn, and not a blank or solid panel
    assert dev.image.tobytes() == img.tobytes()


def test_a_gate_without_a_panel_keeps_its_last_screens_privately(tmp_path, careless_umask):
    """The png driver wrote every screen, each greeting a person by name, readable by anyone and
    forever: a gate left on it filled its card. Now the folder is 0700, each screen 0600, and only
    the last `keep` stay."""
    from device.screens import Screens

    folder = tmp_path / "screens"
    display = PngDisplay(folder, keep=3)
    names = ["Nguyễn Thị Vân Anh", "Trần Văn Bình", "Lê Hoàng Phúc", "Đặng Thu Hà", "Phạm Minh Khoa"]
    for name in names:
        display.show(Screens().accepted(name, "in", __import__("datetime").datetime(2021, 9, 15, 8, 31)))
    kept = sorted(folder.iterdir())
    assert [p.name for p in kept] == ["0003-screen.png", "0004-screen.png", "0005-screen.png"]
    assert folder.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in kept)
    assert Image.open(kept[-1]).convert("1").tobytes() == display.last.convert("1").tobytes()
    again = PngDisplay(folder, keep=3)  # the gate restarted: it goes on from 5 and still keeps 3
    again.show(Screens().accepted("Võ Thị Sáu", "out", __import__("datetime").datetime(2021, 9, 15, 17, 0)))
    assert sorted(p.name for p in folder.iterdir()) == ["0004-screen.png", "0005-screen.png", "0006-screen.png"]

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(DisplayError, match="cannot write screens to"):
        PngDisplay(blocker / "screens")


def test_missing_oled_is_a_clear_error():
    with pytest.raises(DisplayError):
        open_luma("ssd1306", "i2c", i2c_port=97)
    with pytest.raises(DisplayError, match="unknown OLED chip"):
        open_luma("st7735")


class StandIn:
    """A stand-in for `picamera2`: records the calls the adapter makes, returns YUV420 arrays."""

    def __init__(self, has_af=True, pisp=False):
        self.calls = []
        self.has_af = has_af
        self.pisp = pisp
        self.tuning = None
        stand_in = self

        class Picamera2:
            def __init__(self, num=0, tuning=None):
                stand_in.calls.append(("Picamera2", num))
                stand_in.tuning = tuning
                self.camera_controls = {"AfMode": (0, 2, 0)} if stand_in.has_af else {}
                self.camera_properties = {"ScalerCropMaximum": (16, 8, 4608, 2592)}

            @staticmethod
            def global_camera_info():
                return [{"Model": "imx708", "Num": 0}]

            @staticmethod
            def load_tuning_file(name):
                stand_in.tuning_file = name
                # A Pi 5 (PiSP) file keeps its AGC settings per channel; a Pi 4 one at the top.
                agc = ({"channels": [{"exposure_modes": {"normal": {}}}, {"exposure_modes": {}}]}
                       if stand_in.pisp else {"exposure_modes": {"normal": {"shutter": [100, 66666]}}})
                return {"version": 2.0, "algorithms": [{"rpi.black_level": {}}, {"rpi.agc": agc}]}

            def create_video_configuration(self, **kw):
                stand_in.calls.append(("create_video_configuration", kw))
                return {"config": kw}

            def configure(self, cfg):
                stand_in.calls.append(("configure", cfg))

            def start(self):
                stand_in.calls.append(("start",))

            def set_controls(self, c):
                stand_in.calls.append(("set_controls", c))

            def capture_array(self, name="main"):
                stand_in.calls.append(("capture_array", name))
                w, h = kw_size = stand_in.lores_size
                stride = w + 64  # lores rows are padded
                yuv = np.full((h * 3 // 2, stride), 7, np.uint8)
                yuv[:h, :w] = 200
                del kw_size
                return yuv

            def stop(self):
                stand_in.calls.append(("stop",))

            def close(self):
                stand_in.calls.append(("close",))

        self.module = types.SimpleNamespace(Picamera2=Picamera2)
        # libcamera's enums, with their values
        self.controls = types.SimpleNamespace(AfModeEnum=types.SimpleNamespace(Manual=0, Continuous=2),
                                              AfRangeEnum=types.SimpleNamespace(Normal=0, Macro=1),
                                              AfSpeedEnum=types.SimpleNamespace(Normal=0, Fast=1),
                                              AeExposureModeEnum=types.SimpleNamespace(Normal=0, Short=1))
        self.lores_size = (640, 480)


def test_picamera2_adapter_reads_lores_y_plane():
    s = StandIn()
    cam = Picamera2Camera(640, 480, framerate=20, module=s.module, controls_module=s.controls)
    cam.start()
    frame = cam.read()
    cam.close()
    assert frame.grey.shape == (480, 640) and frame.grey.dtype == np.uint8
    assert (frame.grey == 200).all()  # only Y, no chroma rows and no stride padding
    names = [c[0] for c in s.calls]
    assert names == ["Picamera2", "create_video_configuration", "configure", "start", "set_controls",
                     "capture_array", "stop", "close"]
    kw = s.calls[1][1]
    assert kw["lores"] == {"size": (640, 480), "format": "YUV420"}
    assert kw["controls"] == {"FrameRate": 20.0, "AeExposureMode": 1}  # short exposures preferred
    assert s.calls[4][1] == {"AfMode": 2, "AfRange": 1, "AfSpeed": 1}  # continuous, macro range: 10-40 cm
    assert s.calls[5][1] == "lores"


@pytest.mark.parametrize("pisp", [False, True])
def test_picamera2_exposure_capped_for_a_door(pisp):
    """The sensor's own tuning file, its short exposure mode capped (shutter and gain), and the
    crop where people hold codes, in sensor pixels."""
    s = StandIn(pisp=pisp)
    cam = Picamera2Camera(module=s.module, controls_module=s.controls,
                          exposure=DoorExposure(max_exposure_us=6000, max_gain=6.0, crop=(0.25, 0.1, 0.5, 0.8)))
    cam.start()
    assert s.tuning_file == "imx708.json"
    agc = s.tuning["algorithms"][1]["rpi.agc"]
    for channel in agc.get("channels", [agc]):
        assert channel["exposure_modes"]["short"] == {"shutter": [100, 3000, 6000], "gain": [1.0, 3.0, 6.0]}
    assert ("set_controls", {"ScalerCrop": (16 + 1152, 8 + 259, 2304, 2073)}) in s.calls
    cam.close()


def test_picamera2_without_a_tuning_file_still_starts(caplog):
    s = StandIn()
    s.module.Picamera2.load_tuning_file = staticmethod(lambda name: (_ for _ in ()).throw(FileNotFoundError(name)))
    cam = Picamera2Camera(module=s.module, controls_module=s.controls)
    cam.start()
    assert s.tuning is None and "not capped" in caplog.text
    assert cam.read().grey.shape == (480, 640)
    cam.close()


def test_picamera2_manual_focus_and_fixed_focus_module():
    s = StandIn()
    cam = Picamera2Camera(autofocus="manual", lens_position=3.5, module=s.module, controls_module=s.controls)
    cam.start()
    assert ("set_controls", {"AfMode": 0, "LensPosition": 3.5}) in s.calls
    fixed = StandIn(has_af=False)
    cam2 = Picamera2Camera(module=fixed.module, controls_module=fixed.controls)
    cam2.start()
    assert not [c for c in fixed.calls if c[0] == "set_controls"]


def test_picamera2_missing_off_pi_is_a_clear_error():
    with pytest.raises(CameraError, match="python3-picamera2"):
        Picamera2Camera().start()


def test_image_folder_camera_and_bad_specs(tmp_path):
    Image.new("L", (64, 48), 99).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes(b"not an image")
    Image.new("1", (20000, 20000)).save(tmp_path / "c.png")  # 50 kB: it stopped the gate with a traceback
    os.mkfifo(tmp_path / "d.png")  # a pipe with no writer: opening it to read waited for ever
    cam = open_camera(f"images:{tmp_path}")
    cam.start()
    f1, f2, f3, f4 = cam.read(), cam.read(), cam.read(), cam.read()
    assert f1.grey.shape == (48, 64) and f2.grey.shape == f3.grey.shape == f4.grey.shape == (1, 1)
    assert cam.read() is None
    for bad in ("webcam", "picamera2:x", "picamera2:-1", f"images:{tmp_path}?fps=nan", f"images:{tmp_path}?fps=-1",
                f"images:{tmp_path}?fps=1e-300", f"images:{tmp_path}?repeat=0", f"images:{tmp_path}?fps=fast"):
        with pytest.raises(CameraError):  # told in one line, not a ValueError or a sleep of 1e300 s
            open_camera(bad)
    with pytest.raises(CameraError):
        open_camera(f"images:{tmp_path / 'missing'}").start()


def test_opencv_reads_video_file(tmp_path):
    import cv2

    from sim.frames import Shot, compose, render_qr

    path = str(tmp_path / "door.avi")
    out = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    frame = compose(render_qr("Xin chào"), Shot(size=240))
    for _ in range(3):
        out.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    out.release()
    cam = open_camera(f"video:{path}")
    cam.start()
    frames = [cam.read() for _ in range(4)]
    cam.close()
    assert [f is not None for f in frames] == [True, True, True, False]
    from drivers.decoder import make_decoder

    assert [d.text for d in make_decoder("zxing").decode(frames[0].grey)] == ["Xin chào"]
