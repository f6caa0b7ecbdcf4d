"""The gate's TOML configuration: typed, validated once, unknown keys rejected."""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import UserError
from protocol.checkpoint import CHECKPOINT_ID_RULE, valid_checkpoint_id, valid_portal_url
from protocol.event import LOCAL_TIME_ZONE


class ConfigError(UserError, ValueError):
    """A config problem; the message names the file and the key."""


@dataclass
class GateSection:
    device_id: str = "gate-0001"
    checkpoint_id: str = "CP-0001"
    checkpoint_name: str = "Điểm kiểm dịch"
    direction: str = "auto"  # in, out or auto
    language: str = "vi"  # vi or en
    timezone: str = LOCAL_TIME_ZONE
    state_dir: str = "/var/lib/vhd-gate"
    firmware: str = ""
    portal_url: str = ""  # e.g. https://khaibao.example: the idle screen's QR opens its checkpoint page


@dataclass
class PolicySection:
    debounce_seconds: float = 5.0
    min_stay_minutes: float = 10.0  # auto direction: a scan this soon after a check-in is a repeat
    accept_cccd: bool = True
    feedback_seconds: float = 3.0  # how long a result stays on the screen


@dataclass
class CameraSection:
    source: str = "picamera2"  # picamera2[:N], opencv:N, video:FILE, images:DIR
    width: int = 640
    height: int = 480
    framerate: float = 15.0
    autofocus: str = "continuous"  # continuous (macro range) or manual
    lens_position: float = 4.0  # dioptres, for manual focus: 4 = 25 cm
    max_exposure_us: int = 8000  # a moving hand smears less than 3 px
    max_gain: float = 8.0  # analogue gain, for dim doorways
    crop: list[float] = field(default_factory=list)  # [x, y, width, height] of the sensor, 0..1

    def door_exposure(self):
        from drivers.camera import DoorExposure

        return DoorExposure(self.max_exposure_us, self.max_gain,
                            (self.crop[0], self.crop[1], self.crop[2], self.crop[3]) if self.crop else None)


@dataclass
class DecoderSection:
    driver: str = "zxing"  # zxing or zbar


@dataclass
class DisplaySection:
    driver: str = "ssd1306"  # ssd1306, sh1106, ssd1309, png or none
    interface: str = "i2c"
    width: int = 128
    height: int = 64
    rotate: int = 0
    i2c_port: int = 1
    i2c_address: int = 0x3C
    spi_port: int = 0
    spi_device: int = 0
    gpio_dc: int = 24
    gpio_rst: int = 25
    font: str = ""  # a TTF with Vietnamese letters; DejaVu Sans when empty
    png_dir: str = ""  # for driver = "png"


@dataclass
class SignalsSection:
    driver: str = "gpio"  # gpio or none
    buzzer_pin: int | None = 18
    buzzer_active_high: bool = True
    green_led_pin: int | None = 23
    red_led_pin: int | None = 27
    rgb_led_pins: list[int] = field(default_factory=list)  # [r, g, b] instead of two LEDs
    relay_pin: int | None = None
    relay_active_high: bool = True
    relay_pulse_seconds: float = 1.0


@dataclass
class TrustSection:
    public_keys: list[str] = field(default_factory=list)  # base64 Ed25519 keys
    revoked_key_ids: list[str] = field(default_factory=list)


@dataclass
class MqttSection:
    url: str = ""  # mqtt://host:1883 or mqtts://host:8883; empty keeps the gate local-only
    username: str = ""  # the device id when empty
    password_file: str = ""  # relative names are looked up in $CREDENTIALS_DIRECTORY first
    ca_file: str = ""  # CA bundle for mqtts; the system's when empty
    batch_size: int = 200  # events per message
    window: int = 4  # messages awaiting the centre's ack at once
    ack_timeout_seconds: float = 30.0  # resend what the centre has not confirmed by then
    telemetry_seconds: float = 60.0
    backoff_min_seconds: float = 1.0
    backoff_max_seconds: float = 120.0
    keepalive: int = 30


@dataclass
class Config:
    gate: GateSection = field(default_factory=GateSection)
    policy: PolicySection = field(default_factory=PolicySection)
    camera: CameraSection = field(default_factory=CameraSection)
    decoder: DecoderSection = field(default_factory=DecoderSection)
    display: DisplaySection = field(default_factory=DisplaySection)
    signals: SignalsSection = field(default_factory=SignalsSection)
    trust: TrustSection = field(default_factory=TrustSection)
    mqtt: MqttSection = field(default_factory=MqttSection)


_CHOICES = {
    ("gate", "direction"): ("in", "out", "auto"),
    ("gate", "language"): ("vi", "en"),
    ("camera", "autofocus"): ("continuous", "manual"),
    ("decoder", "driver"): ("zxing", "zbar"),
    ("display", "driver"): ("ssd1306", "sh1106", "ssd1309", "png", "none"),
    ("display", "interface"): ("i2c", "spi"),
    ("display", "rotate"): (0, 1, 2, 3),
    ("signals", "driver"): ("gpio", "none"),
}
# Every number's range (inclusive). A value outside one would fail later and on the door: a
# feedback time of nan or 1e999 failed every accepted scan, a frame rate of 0 divided by it.
_PIN = (0, 27)  # BCM numbers of the GPIOs on the 40-pin header
_RANGES = {
    ("policy", "debounce_seconds"): (0, 3600),
    ("policy", "min_stay_minutes"): (0, 24 * 60),
    ("policy", "feedback_seconds"): (0.1, 60),  # as protocol.messages.PolicySettings allows the centre
    ("camera", "width"): (64, 4656),
    ("camera", "height"): (64, 3496),
    ("camera", "framerate"): (1, 120),
    ("camera", "lens_position"): (0, 15),  # dioptres
    ("camera", "max_exposure_us"): (100, 100_000),
    ("camera", "max_gain"): (1, 64),
    ("display", "width"): (8, 1024),
    ("display", "height"): (8, 1024),
    ("display", "i2c_port"): (0, 31),
    ("display", "i2c_address"): (0x03, 0x77),
    ("display", "spi_port"): (0, 6),
    ("display", "spi_device"): (0, 3),
    ("display", "gpio_dc"): _PIN,
    ("display", "gpio_rst"): _PIN,
    ("signals", "buzzer_pin"): _PIN,
    ("signals", "green_led_pin"): _PIN,
    ("signals", "red_led_pin"): _PIN,
    ("signals", "rgb_led_pins"): _PIN,
    ("signals", "relay_pin"): _PIN,
    ("signals", "relay_pulse_seconds"): (0.05, 60),
    ("mqtt", "batch_size"): (1, 1000),
    ("mqtt", "window"): (1, 20),
    ("mqtt", "ack_timeout_seconds"): (0.1, 3600),
    ("mqtt", "telemetry_seconds"): (0.1, 86400),
    ("mqtt", "backoff_min_seconds"): (0.01, 600),
    ("mqtt", "backoff_max_seconds"): (0.01, 3600),
    ("mqtt", "keepalive"): (5, 65535),
}


def _check_type(value, hint, where: str):
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        inner = [o for o in options if o is not type(None)][0]
        return _check_type(value, inner, where)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list")
        return [_check_type(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{where}: expected a number, got {value}")
    if hint is int and isinstance(value, bool) or not isinstance(value, hint):
        raise ConfigError(f"{where}: expected {hint.__name__}, got {type(value).__name__}")
    return value


def _build(cls, data: dict, where: str):
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}{unknown[0]}: unknown key")
    values = {}
    for name, value in data.items():
        hint = hints[name]
        key = f"{where}{name}"
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise ConfigError(f"{key}: expected a table")
            values[name] = _build(hint, value, f"{key}.")
        else:
            values[name] = _check_type(value, hint, key)
    return cls(**values)


def _validate(cfg: Config) -> None:
    for (section, key), choices in _CHOICES.items():
        value = getattr(getattr(cfg, section), key)
        if value not in choices:
            raise ConfigError(f"{section}.{key}: {value!r} is not one of {', '.join(map(str, choices))}")
    from protocol.event import valid_device_id

    if not valid_device_id(cfg.gate.device_id):
        raise ConfigError("gate.device_id: letters, digits, '.', '_' and '-' only, up to 64")
    if not valid_checkpoint_id(cfg.gate.checkpoint_id):  # as the centre registers it, or no event is taken
        raise ConfigError(f"gate.checkpoint_id: {CHECKPOINT_ID_RULE}")
    for (section, key), (low, high) in _RANGES.items():
        value = getattr(getattr(cfg, section), key)
        for v in value if isinstance(value, list) else [value]:
            if v is not None and not low <= v <= high:
                raise ConfigError(f"{section}.{key}: {v} is outside {low}..{high}")
    if cfg.gate.portal_url and not valid_portal_url(cfg.gate.portal_url):
        raise ConfigError("gate.portal_url: an https:// address without query, e.g. https://khaibao.example")
    c = cfg.camera
    if c.crop and not (len(c.crop) == 4 and all(0 <= v <= 1 for v in c.crop) and c.crop[2] > 0 and c.crop[3] > 0
                       and c.crop[0] + c.crop[2] <= 1 and c.crop[1] + c.crop[3] <= 1):
        raise ConfigError("camera.crop: [x, y, width, height] as fractions of the sensor, inside it")
    if cfg.signals.rgb_led_pins and len(cfg.signals.rgb_led_pins) != 3:
        raise ConfigError("signals.rgb_led_pins: three pins, [red, green, blue]")
    if cfg.display.driver == "png" and not cfg.display.png_dir:
        raise ConfigError("display.png_dir: required when display.driver is png")
    if cfg.mqtt.url:
        from drivers.mqtt import BrokerUrl

        try:
            BrokerUrl.parse(cfg.mqtt.url)
        except ValueError as exc:
            raise ConfigError(f"mqtt.url: {exc}") from None
    if cfg.mqtt.backoff_max_seconds < cfg.mqtt.backoff_min_seconds:
        raise ConfigError("mqtt.backoff_max_seconds: less than backoff_min_seconds")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(cfg.gate.timezone)
    except Exception:
        raise ConfigError(f"gate.timezone: unknown time zone {cfg.gate.timezone!r}") from None
    from protocol.token import TrustStore

    try:
        TrustStore.from_public_keys(cfg.trust.public_keys, cfg.trust.revoked_key_ids)
    except ValueError as exc:
        raise ConfigError(f"trust.public_keys: {exc}") from None


def from_dict(data: dict, source: str = "<config>") -> Config:
    try:
        cfg = _build(Config, data, "")
        _validate(cfg)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return cfg


MAX_CONFIG_BYTES = 256 * 1024


def load(path: str | Path) -> Config:
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)  # /dev/zero, or a log given by mistake, is not read whole
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: too large for a gate's config (more than {MAX_CONFIG_BYTES // 1024} kB)")
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except PermissionError:
        raise ConfigError(f"{path}: permission denied") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses into each nested array or table
        raise ConfigError(f"{path}: not valid TOML: nested too deeply") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return from_dict(data, str(path))
