"""Buzzer, status LEDs (two, or one RGB) and door relay through gpiozero, and a recording fake."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from common.errors import UserError


class SignalsError(UserError):
    """The GPIO devices cannot be opened."""


@dataclass(frozen=True)
class Pattern:
    """A beep and light pattern: `beeps` times on/off on the buzzer, the LED `led` likewise."""

    name: str
    beep_on: float
    beep_off: float
    beeps: int
    led: str  # "green" or "red"
    led_on: float
    led_off: float
    blinks: int


class Signals(Protocol):
    def play(self, pattern: Pattern) -> None: ...

    def pulse_relay(self, seconds: float) -> None: ...

    def close(self) -> None: ...


_COLOURS = {"green": (0, 1, 0), "red": (1, 0, 0), "amber": (1, 0.5, 0)}


class GpioSignals:
    """gpiozero devices; `pin_factory` is gpiozero's (MockFactory in tests, lgpio on a Pi)."""

    def __init__(self, buzzer_pin: int | None, green_pin: int | None = None,
                 red_pin: int | None = None, rgb_pins: tuple[int, int, int] | None = None,
                 relay_pin: int | None = None, relay_active_high: bool = True,
                 buzzer_active_high: bool = True, pin_factory=None):
        try:
            from gpiozero import LED, RGBLED, Buzzer, DigitalOutputDevice
        except ImportError as exc:
            raise SignalsError("gpiozero is not installed") from exc
        kw = {"pin_factory": pin_factory}
        self._devices: list = []
        try:
            self.buzzer = (Buzzer(buzzer_pin, active_high=buzzer_active_high, **kw)
                           if buzzer_pin is not None else None)
            self.rgb = RGBLED(*rgb_pins, **kw) if rgb_pins else None
            self.green = LED(green_pin, **kw) if green_pin is not None and not rgb_pins else None
            self.red = LED(red_pin, **kw) if red_pin is not None and not rgb_pins else None
            self.relay = (DigitalOutputDevice(relay_pin, active_high=relay_active_high,
                                       initial_value=False, **kw)
                          if relay_pin is not None else None)
        except Exception as exc:  # gpiozero raises BadPinFactory, GPIOPinInUse, PinInvalidPin...
            self.close()
            raise SignalsError(f"cannot open GPIO devices: {exc}") from exc

    def _all(self):
        return [d for d in (getattr(self, n, None) for n in ("buzzer", "rgb", "green", "red", "relay"))
                if d is not None]

    def play(self, p: Pattern) -> None:
        if self.buzzer is not None:
            self.buzzer.beep(on_time=p.beep_on, off_time=p.beep_off, n=p.beeps, background=True)
        if self.rgb is not None:
            self.rgb.blink(on_time=p.led_on, off_time=p.led_off, on_color=_COLOURS[p.led],
                           n=p.blinks, background=True)
            return
        leds = {"green": self.green, "red": self.red}
        for colour, led in leds.items():
            if led is None:
                continue
            if colour == p.led:
                led.blink(on_time=p.led_on, off_time=p.led_off, n=p.blinks, background=True)
            else:
                led.off()

    def pulse_relay(self, seconds: float) -> None:
        if self.relay is not None:
            self.relay.blink(on_time=seconds, off_time=0.05, n=1, background=True)

    def close(self) -> None:
        for dev in self._all():
            try:
                dev.close()
            except Exception:  # closing must go on for the rest whatever one device says
                pass


class RecordingSignals:
    """A fake that records what it was asked to play."""

    def __init__(self):
        self.played: list[str] = []
        self.relay_pulses: list[float] = []
        self.closed = False

    def play(self, pattern: Pattern) -> None:
        self.played.append(pattern.name)

    def pulse_relay(self, seconds: float) -> None:
        self.relay_pulses.append(seconds)

    def close(self) -> None:
        self.closed = True
