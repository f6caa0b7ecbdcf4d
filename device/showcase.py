"""Every screen the gate can show, with sample content, for docs and review."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from PIL import Image

from device.config import Config
from device.screens import IdleInfo, Screens
from protocol.credential import REASONS


def render_all(screens: Screens, cfg: Config) -> list[tuple[str, Image.Image]]:
    tz = ZoneInfo(cfg.gate.timezone)
    at = datetime(2021, 9, 15, 8, 31, tzinfo=tz)
    name = "Nguyễn Thị Vân Anh"
    out = [
        ("idle-online", screens.idle(IdleInfo(cfg.gate.checkpoint_id, "Trường THCS Nguyễn Du",
                                              "auto", "online", 0, at))),
        ("idle-offline", screens.idle(IdleInfo(cfg.gate.checkpoint_id, "Bệnh viện Quận 1 - Cổng A",
                                               "in", "offline", 37, at))),
        ("accepted-in", screens.accepted(name, "in", at)),
        ("accepted-out", screens.accepted("Trần Văn Bình", "out", at.replace(hour=17, minute=5))),
        ("accepted-long-name", screens.accepted("Tôn Nữ Thị Hoàng Phương Quỳnh Như", "in", at)),
        ("repeat", screens.repeat(name, "in", at)),
    ]
    out += [(f"rejected-{r}", screens.rejected(r)) for r in REASONS + ("storage_error",)]
    return out
