"""Settings the centre sends on the retained config topic: validated, applied, kept across restarts."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from device.config import Config, ConfigError, from_dict

logger = logging.getLogger(__name__)

# What the centre may change on a gate; everything else stays as the technician configured it.
ALLOWED = {
    "trust": {"public_keys", "revoked_key_ids"},
    "policy": {"debounce_seconds", "min_stay_minutes", "accept_cccd", "feedback_seconds"},
    "gate": {"direction", "portal_url"},
}


def merge(cfg: Config, data: dict) -> Config:
    """The config with the centre's settings applied; ConfigError names what was wrong."""
    if not isinstance(data, dict):
        raise ConfigError("central config is not an object")
    base = dataclasses.asdict(cfg)
    for section, values in data.items():
        if section not in ALLOWED or not isinstance(values, dict):
            raise ConfigError(f"{section}: not settable from the centre")
        for key, value in values.items():
            if key not in ALLOWED[section]:
                raise ConfigError(f"{section}.{key}: not settable from the centre")
            base[section][key] = value
    return from_dict(base, "central config")


class CentralConfig:
    """Applies central config to a running gate and keeps the last good one in the state dir."""

    def __init__(self, state_dir: Path, base: Config, apply):
        self.path = Path(state_dir) / "central-config.json"
        self.base = base
        self.apply = apply

    def handle(self, data: dict) -> str | None:
        try:
            new = merge(self.base, data)
        except ConfigError as exc:
            return str(exc)
        self.apply(new)
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(data))
            tmp.replace(self.path)
        except OSError as exc:
            logger.warning("central config applied but not saved: %s", exc)
        logger.info("central config applied (%d trusted key(s), %d revoked)",
                    len(new.trust.public_keys), len(new.trust.revoked_key_ids))
        return None

    def restore(self) -> None:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            logger.warning("saved central config unreadable, ignored: %s", exc)
            return
        problem = self.handle(data)
        if problem:
            logger.warning("saved central config invalid, ignored: %s", problem)
