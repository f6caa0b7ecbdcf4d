"""Settings the centre sends on the retained config topic: validated, applied, kept across restarts."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from common.files import write_private
from device.config import Config, ConfigError, from_dict
from protocol import messages
from protocol.messages import CentralConfig as CentralMessage
from protocol.messages import MessageError

logger = logging.getLogger(__name__)


def merge(cfg: Config, message: CentralMessage) -> Config:
    """The config with the centre's settings applied (the message type admits only what the
    centre may change); ConfigError names what was wrong with the result."""
    base = dataclasses.asdict(cfg)
    for section, values in message.changes().items():
        base[section].update({k: v for k, v in values.items() if v is not None})
    return from_dict(base, "central config")


class CentralConfig:
    """The config in force: the technician's, with the centre's last good settings applied (kept
    in the state dir across restarts). The gate reads `current` before each frame."""

    def __init__(self, state_dir: Path, base: Config):
        self.path = Path(state_dir) / "central-config.json"
        self.base = base
        self.current = base

    def config(self) -> Config:
        return self.current

    def handle(self, message: CentralMessage) -> str | None:
        try:
            new = merge(self.base, message)
        except ConfigError as exc:
            return str(exc)
        self.current = new  # one reference assignment: the gate's thread sees old or new, whole
        try:
            write_private(self.path, messages.encode(message))
        except OSError as exc:
            logger.warning("central config applied but not saved: %s", exc)
        logger.info("central config applied (%d trusted key(s), %d revoked)",
                    len(new.trust.public_keys), len(new.trust.revoked_key_ids))
        return None

    def restore(self) -> None:
        try:
            message = messages.decode(self.path.read_bytes(), CentralMessage)
        except FileNotFoundError:
            return
        except (OSError, MessageError) as exc:
            logger.warning("saved central config unreadable, ignored: %s", exc)
            return
        problem = self.handle(message)
        if problem:
            logger.warning("saved central config invalid, ignored: %s", problem)
