"""Cameras: picamera2 (lores Y plane), OpenCV/V4L2, and image folders or video files."""

from __future__ import annotations

import errno
import logging
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from common.errors import UserError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov", ".h264", ".mjpeg"}


class CameraError(UserError):
    """The camera cannot be opened or has stopped delivering frames."""


@dataclass(frozen=True)
class Frame:
    grey: np.ndarray  # uint8, height x width
    mono_ns: int  # time.monotonic_ns() when the frame was taken
    index: int


class Camera(Protocol):
    def start(self) -> None: ...

    def read(self) -> Frame | None:
        """The newest frame, or None when a finite source has run out."""

    def close(self) -> None: ...


# What cameras, phones and scanners write, found by content: never a format Pillow hands to
# another program (EPS to Ghostscript) or one nobody's camera writes.
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "PPM", "WEBP", "GIF", "TIFF")
MAX_IMAGE_PIXELS = 50_000_000  # a 48-megapixel phone photo; a door camera's frame is 0.3 to 12


class ImageFileError(ValueError):
    """A picture file that is not one a camera or a phone writes, or is too large to be one."""


def read_grey(path: str | Path) -> np.ndarray:
    """A picture file as 8-bit grey. Its size is checked before its pixels are read: a small file
    can declare 20000 x 20000 pixels, which Pillow refuses with a traceback (or, under its own
    limit, decodes into hundreds of megabytes). Only a regular file is read: a pipe or a device
    named like a picture would block the reader for ever (a gate's `images:` folder, `decode`).
    OSError for a file that cannot be read at all."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)  # a pipe opens at once, and is refused below
    with os.fdopen(fd, "rb") as fh:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise ImageFileError("not a regular file (a pipe, a device or a socket)")
        return _grey_from(fh)


def _grey_from(fh) -> np.ndarray:
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(fh, formats=IMAGE_FORMATS) as img:
                width, height = img.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ImageFileError(f"too large: {width}x{height} pixels (at most 50 million)")
                return np.asarray(img.convert("L"), dtype=np.uint8)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageFileError("too large: more than 50 million pixels") from None
    except UnidentifiedImageError:
        raise ImageFileError("not a PNG, JPEG, BMP, PGM/PPM, WebP, GIF or TIFF image") from None
    except ImageFileError:
        raise
    except (SyntaxError, ValueError):  # Pillow's plugins raise these for a damaged header
        raise ImageFileError("a damaged image") from None


@dataclass(frozen=True)
class DoorExposure:
    """How a door camera should expose: short, so a moving hand does not smear the modules.

    At 640 px across a field of about 40 cm a pixel is about 0.6 mm of the code; a hand still
    moving at 20 cm/s travels 1.6 mm (under 3 px) in 8 ms, and a module of a phone's QR is
    1 to 2 mm. So the exposure is capped (`max_exposure_us`), the sensor's analogue gain makes up
    for it in dim light up to `max_gain` (above that the noise costs more reads than the
    darkness), and auto-exposure is told to prefer short exposures. Focus is for 10 to 40 cm:
    continuous autofocus limited to its macro range on Camera Module 3, or a fixed lens position
    (4 dioptres = 25 cm). `crop` keeps only where people hold codes, as fractions of the sensor
    (x, y, width, height): fewer pixels to search, each code larger in the frame."""

    max_exposure_us: int = 8000
    max_gain: float = 8.0
    crop: tuple[float, float, float, float] | None = None


def door_tuning(tuning: dict, exposure: DoorExposure) -> dict:
    """The sensor's tuning with its "short" exposure mode capped for a door (Picamera2's
    documented way to bound both shutter and gain: rpi.agc's exposure modes)."""
    agc = next((a["rpi.agc"] for a in tuning.get("algorithms", []) if "rpi.agc" in a), None)
    if agc is None:
        return tuning
    cap = exposure.max_exposure_us
    short = {"shutter": [100, cap // 2, cap], "gain": [1.0, max(1.0, exposure.max_gain / 2), exposure.max_gain]}
    for channel in agc.get("channels", [agc]):  # Pi 5 (PiSP) files keep one set per channel
        channel.setdefault("exposure_modes", {})["short"] = short
    return tuning


class Picamera2Camera:
    """Raspberry Pi camera through picamera2: the lores YUV420 stream's Y plane is the grey frame."""

    def __init__(self, width: int = 640, height: int = 480, framerate: float = 15.0,
                 autofocus: str = "continuous", lens_position: float = 4.0, camera_num: int = 0,
                 exposure: DoorExposure | None = None, module=None, controls_module=None):
        self.size = (width, height)
        self.framerate = framerate
        self.autofocus = autofocus
        self.lens_position = lens_position
        self.camera_num = camera_num
        self.exposure = exposure or DoorExposure()
        self._module = module  # tests hand in a stand-in for `picamera2`
        self._controls = controls_module
        self._cam = None
        self._index = 0

    def start(self) -> None:
        if self._module is None:
            try:
                import picamera2 as module
                from libcamera import controls
            except ImportError as exc:
                raise CameraError("picamera2 is not installed: on Raspberry Pi OS run "
                                  "'sudo apt install python3-picamera2' and create the venv "
                                  "with --system-site-packages") from exc
            self._module, self._controls = module, controls
        try:
            cam = self._module.Picamera2(self.camera_num, tuning=self._tuning())
            # The main stream is needed by libcamera; the gate only reads lores.
            config = cam.create_video_configuration(
                main={"size": self.size, "format": "YUV420"},
                lores={"size": self.size, "format": "YUV420"},
                buffer_count=2,  # few buffers: the frame read is always the newest
                controls={"FrameRate": float(self.framerate),
                          "AeExposureMode": self._controls.AeExposureModeEnum.Short},
            )
            cam.configure(config)
            cam.start()
            self._set_focus(cam)
            self._set_crop(cam)
        except Exception as exc:  # libcamera raises plain RuntimeError and friends
            raise CameraError(f"cannot start the Pi camera: {exc}") from exc
        self._cam = cam

    def _tuning(self) -> dict | None:
        """The sensor's own tuning file with the door's exposure caps; None (the defaults, with
        a warning) where it cannot be read."""
        P = self._module.Picamera2
        try:
            model = P.global_camera_info()[self.camera_num]["Model"]
            return door_tuning(P.load_tuning_file(f"{model}.json"), self.exposure)
        except Exception as exc:
            logger.warning("camera tuning not capped for a door (%s): exposure left to the defaults", exc)
            return None

    def _set_focus(self, cam) -> None:
        if "AfMode" not in getattr(cam, "camera_controls", {}):
            return  # fixed-focus module (Camera Module 2 and older)
        af = self._controls.AfModeEnum
        if self.autofocus == "manual":
            cam.set_controls({"AfMode": af.Manual, "LensPosition": float(self.lens_position)})
        else:
            cam.set_controls({"AfMode": af.Continuous, "AfRange": self._controls.AfRangeEnum.Macro,
                              "AfSpeed": self._controls.AfSpeedEnum.Fast})

    def _set_crop(self, cam) -> None:
        if not self.exposure.crop:
            return
        x0, y0, w, h = cam.camera_properties["ScalerCropMaximum"]
        fx, fy, fw, fh = self.exposure.crop
        cam.set_controls({"ScalerCrop": (x0 + int(w * fx), y0 + int(h * fy), int(w * fw), int(h * fh))})

    def read(self) -> Frame | None:
        if self._cam is None:
            raise CameraError("camera not started")
        try:
            yuv = self._cam.capture_array("lores")
        except Exception as exc:
            raise CameraError(f"capture failed: {exc}") from exc
        w, h = self.size
        # YUV420 arrives as (h * 3/2, stride): the first h rows are Y, padded to the stride.
        grey = np.ascontiguousarray(yuv[:h, :w])
        self._index += 1
        return Frame(grey, time.monotonic_ns(), self._index)

    def close(self) -> None:
        if self._cam is not None:
            try:
                self._cam.stop()
                self._cam.close()
            finally:
                self._cam = None


class OpenCVCamera:
    """A USB (V4L2) camera or a video file through OpenCV."""

    def __init__(self, source: int | str, width: int = 640, height: int = 480):
        self.source = source
        self.size = (width, height)
        self._cap: Any = None
        self._index = 0
        self._live = isinstance(source, int)

    def start(self) -> None:
        try:
            import cv2
        except ImportError as exc:
            raise CameraError("OpenCV is not installed: pip install 'vhd-gate[opencv]'") from exc
        self._cv2 = cv2
        cap = cv2.VideoCapture(self.source)
        if not cap.isOpened():
            raise CameraError(f"cannot open camera source {self.source!r}")
        if self._live:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest frame, not a backlog
        self._cap = cap

    def read(self) -> Frame | None:
        ok, img = self._cap.read()
        if not ok:
            if self._live:
                raise CameraError("the camera stopped delivering frames")
            return None
        grey = img if img.ndim == 2 else self._cv2.cvtColor(img, self._cv2.COLOR_BGR2GRAY)
        self._index += 1
        return Frame(grey, time.monotonic_ns(), self._index)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class ImageFolderCamera:
    """Frames from image files in name order: the demo's and the tests' camera."""

    def __init__(self, folder: str | Path, fps: float = 0.0, loop: bool = False, repeat: int = 1):
        self.folder = Path(folder)
        self.fps = fps
        self.loop = loop
        self.repeat = max(1, repeat)
        self._round = 1
        self._files: list[Path] = []
        self._pos = 0
        self._next_at = 0.0

    def start(self) -> None:
        if not self.folder.is_dir():
            raise CameraError(f"image folder {self.folder} does not exist")
        self._files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._files:
            raise CameraError(f"no images in {self.folder}")
        self._next_at = time.monotonic()

    def read(self) -> Frame | None:
        if self._pos >= len(self._files):
            if not self.loop and self._round >= self.repeat:
                return None
            self._pos = 0
            self._round += 1
        if self.fps > 0:
            delay = self._next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._next_at = max(self._next_at, time.monotonic() - 1) + 1 / self.fps
        path = self._files[self._pos]
        self._pos += 1
        try:
            grey = read_grey(path)
        except (OSError, ImageFileError) as exc:
            logger.warning("skipping unreadable image %s: %s", path.name, exc)
            return Frame(np.zeros((1, 1), np.uint8), time.monotonic_ns(), self._pos)
        return Frame(grey, time.monotonic_ns(), self._pos)

    def close(self) -> None:
        self._files = []


class FrameListCamera:
    """Frames from arrays in memory: a fake for tests and benchmarks."""

    def __init__(self, frames: list[np.ndarray]):
        self._frames = list(frames)
        self._pos = 0
        self.closed = False

    def start(self) -> None:
        self._pos = 0

    def read(self) -> Frame | None:
        if self._pos >= len(self._frames):
            return None
        self._pos += 1
        return Frame(self._frames[self._pos - 1], time.monotonic_ns(), self._pos)

    def add(self, frames: list[np.ndarray]) -> None:
        """More frames after the ones given: someone else comes to the door."""
        self._frames += frames

    def close(self) -> None:
        self.closed = True


def open_camera(spec: str, width: int = 640, height: int = 480, framerate: float = 15.0,
                autofocus: str = "continuous", lens_position: float = 4.0,
                exposure: DoorExposure | None = None) -> Camera:
    """A camera from a spec: picamera2[:N], opencv:INDEX|PATH, images:DIR[?fps=N&loop&repeat=N]."""
    kind, _, rest = spec.partition(":")
    if kind == "picamera2":
        if rest and not (rest.isascii() and rest.isdigit()):
            raise CameraError(f"bad camera number in {spec!r}: picamera2 or picamera2:N, N from 0")
        return Picamera2Camera(width, height, framerate, autofocus, lens_position,
                               camera_num=int(rest or 0), exposure=exposure)
    if kind in ("opencv", "v4l2"):
        return OpenCVCamera(int(rest) if rest.isascii() and rest.isdigit() else rest, width, height)
    if kind == "video":
        return OpenCVCamera(rest, width, height)
    if kind == "images":
        path, _, query = rest.partition("?")
        opts = dict(p.partition("=")[::2] for p in query.split("&") if p)
        try:
            fps = float(opts.get("fps", 0) or 0)
            repeat = int(opts.get("repeat", 1) or 1)
        except ValueError:
            fps, repeat = -1.0, 0  # refused below
        if not ((fps == 0 or 0.01 <= fps <= 1000) and 1 <= repeat <= 1_000_000):  # nan fails too
            raise CameraError(f"bad fps or repeat in camera spec {spec!r}: fps 0.01..1000 (0: as fast as read), "
                              "repeat 1..1000000")
        return ImageFolderCamera(path, fps=fps, loop="loop" in opts, repeat=repeat)
    raise CameraError(f"unknown camera {spec!r}: use picamera2, opencv:N, video:FILE or images:DIR")
