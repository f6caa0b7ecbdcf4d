"""Settings the centre sends on the retained config topic: validated, applied, kept across restarts."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from common.errors import UserError
from common.files import write_private
from device.config import Config, ConfigError, from_dict
from protocol import messages
from protocol.messages import CentralConfig as CentralMessage
from protocol.messages import MessageError

logger = logging.getLogger(__name__)


class GateStateError(UserError):
    """The gate's state directory cannot be read as needed; the message says why."""


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

    def saved(self) -> Config:
        """The config in force as the running gate has it, read without changing anything (for the
        technician's commands); GateStateError if the state cannot be read."""
        try:
            message = messages.decode(self.path.read_bytes(), CentralMessage)
        except FileNotFoundError:
            return self.base
        except PermissionError:
            raise GateStateError(f"cannot read {self.path}: permission denied (run this as the gate's user: "
                                 "sudo -u vhd-gate ...)") from None
        except (OSError, MessageError) as exc:
            raise GateStateError(f"the centre's saved settings in {self.path} are unreadable: {exc}") from None
        try:
            return merge(self.base, message)
        except ConfigError as exc:
            raise GateStateError(f"the centre's saved settings in {self.path} are invalid: {exc}") from None

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


class DeletedDeclarations:
    """The declarations deleted at the centre while their QR was valid (the retained
    `vhd/v1/declarations/deleted` message): the gate refuses their QR from the next decision on,
    and keeps the list in the state dir, so a restart without the broker still refuses them."""

    def __init__(self, state_dir: Path):
        self.path = Path(state_dir) / "deleted-declarations.json"
        self.ids: frozenset[str] = frozenset()

    def current(self) -> frozenset[str]:
        return self.ids

    def handle(self, message: messages.DeletedDeclarations) -> None:
        self.ids = frozenset(message.declaration_ids)  # one reference assignment, as the config's
        try:
            write_private(self.path, messages.encode(message))
        except OSError as exc:
            logger.warning("deleted declarations applied but not saved: %s", exc)
        logger.info("%d deleted declaration(s) refused", len(self.ids))

    def restore(self) -> None:
        try:
            payload = self.path.read_bytes()
            self.ids = frozenset(messages.decode(payload, messages.DeletedDeclarations,
                                                 messages.MAX_DELETED_BYTES).declaration_ids)
        except FileNotFoundError:
            return
        except (OSError, MessageError) as exc:
            logger.warning("saved deleted declarations unreadable, ignored until the centre sends them: %s", exc)
