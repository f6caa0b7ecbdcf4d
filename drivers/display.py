"""OLED displays through luma.oled (SSD1306, SH1106, SSD1309 over I2C or SPI), and fakes."""

from __future__ import annotations

import io
from collections import deque
from pathlib import Path
from typing import Protocol

from PIL import Image

from common.errors import UserError
from common.files import private_dir, write_private

CHIPS = ("ssd1306", "sh1106", "ssd1309")


class DisplayError(UserError):
    """The display cannot be opened."""


class Display(Protocol):
    size: tuple[int, int]

    def show(self, image: Image.Image) -> None: ...

    def close(self) -> None: ...


class LumaDisplay:
    """Any luma device: a real OLED, or luma.core's `dummy` in tests."""

    def __init__(self, device):
        self.device = device
        self.size = (device.width, device.height)

    def show(self, image: Image.Image) -> None:
        self.device.display(image.convert(self.device.mode))

    def close(self) -> None:
        # luma's cleanup() blanks the panel and releases the bus; keep it on at exit instead of
        # leaving the last greeting up forever.
        self.device.cleanup()


def open_luma(chip: str, interface: str = "i2c", width: int = 128, height: int = 64,
              rotate: int = 0, i2c_port: int = 1, i2c_address: int = 0x3C, spi_port: int = 0,
              spi_device: int = 0, gpio_dc: int = 24, gpio_rst: int = 25) -> LumaDisplay:
    if chip not in CHIPS:
        raise DisplayError(f"unknown OLED chip {chip!r}; choose one of {', '.join(CHIPS)}")
    try:
        from luma.core.interface.serial import i2c, spi
        from luma.oled import device as oled
    except ImportError as exc:
        raise DisplayError("luma.oled is not installed") from exc
    try:
        if interface == "i2c":
            serial = i2c(port=i2c_port, address=i2c_address)
        elif interface == "spi":
            serial = spi(port=spi_port, device=spi_device, gpio_DC=gpio_dc, gpio_RST=gpio_rst)
        else:
            raise DisplayError(f"unknown interface {interface!r}; use i2c or spi")
        return LumaDisplay(getattr(oled, chip)(serial, width=width, height=height, rotate=rotate))
    except DisplayError:
        raise
    except Exception as exc:  # luma raises DeviceNotFoundError, DevicePermissionError, OSError
        raise DisplayError(f"cannot open the {chip} OLED over {interface}: {exc}") from exc


class PngDisplay:
    """Writes every screen to a numbered PNG: the demo's display, or a gate's without a panel.
    A screen greets a person by name, so the folder and its files are private whatever the umask,
    and only the last `keep` screens stay: a gate left on this driver never fills its card."""

    def __init__(self, folder: str | Path, size: tuple[int, int] = (128, 64), scale: int = 1, keep: int = 1000):
        self.folder = Path(folder)
        try:
            private_dir(self.folder)
        except OSError as exc:
            raise DisplayError(f"cannot write screens to {self.folder}: {exc.strerror or exc}") from None
        self.size = size
        self.scale = scale
        self.keep = keep
        # Numbering goes on from a run before, whose screens count against `keep` as this run's do.
        heads = ((f.name.split("-", 1)[0], f) for f in self.folder.glob("*-*.png"))
        earlier = sorted((int(head), f) for head, f in heads if head.isascii() and head.isdigit())
        self.count = earlier[-1][0] if earlier else 0
        self.written: deque[Path] = deque(f for _, f in earlier)
        self.last: Image.Image | None = None
        self.label = "screen"

    def show(self, image: Image.Image) -> None:
        self.count += 1
        self.last = image.copy()
        out = image.convert("L")
        if self.scale > 1:
            out = out.resize((self.size[0] * self.scale, self.size[1] * self.scale), Image.Resampling.NEAREST)
        buf = io.BytesIO()
        out.save(buf, "PNG")
        path = self.folder / f"{self.count:04d}-{self.label}.png"
        write_private(path, buf.getvalue())
        self.written.append(path)
        while len(self.written) > self.keep:
            self.written.popleft().unlink(missing_ok=True)

    def close(self) -> None:
        pass


class NullDisplay:
    """No display attached; keeps the last image so selftests can still look."""

    def __init__(self, size: tuple[int, int] = (128, 64)):
        self.size = size
        self.last: Image.Image | None = None

    def show(self, image: Image.Image) -> None:
        self.last = image

    def close(self) -> None:
        pass
