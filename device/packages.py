"""The Debian packages (Raspberry Pi OS) that the parts a gate's config names need."""

from __future__ import annotations

from device.config import Config

BASE = ("python3-venv", "libzbar0", "fonts-dejavu-core")


def apt_packages(cfg: Config) -> list[str]:
    """What apt must install before the gate's venv (made with --system-site-packages) can run
    this config: picamera2 and libcamera exist only as Debian packages; lgpio is the GPIO
    backend gpiozero uses on every Pi, the Pi 5 included (RPi.GPIO cannot drive its RP1 chip);
    an SPI panel needs spidev, an I2C one the kernel's i2c-dev (i2c-tools to check the address)."""
    need = list(BASE)
    if cfg.camera.source.startswith("picamera2"):
        need.append("python3-picamera2")
    elif cfg.camera.source.startswith(("opencv", "video")):
        need.append("python3-opencv")
    if cfg.signals.driver == "gpio":
        need.append("python3-lgpio")
    if cfg.display.driver in ("ssd1306", "sh1106", "ssd1309"):
        need.append("python3-spidev" if cfg.display.interface == "spi" else "i2c-tools")
        if cfg.display.interface == "spi" and "python3-lgpio" not in need:
            need.append("python3-lgpio")  # the panel's DC and RST lines
    return need


def interfaces(cfg: Config) -> list[str]:
    """raspi-config's interfaces to switch on: `raspi-config nonint do_<name> 0`."""
    if cfg.display.driver in ("ssd1306", "sh1106", "ssd1309"):
        return [cfg.display.interface]
    return []
