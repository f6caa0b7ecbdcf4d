"""The declaration issuer's signing keys: create, rotate, revoke, and the trust list gates get."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common import jsontext
from common.errors import UserError
from common.files import write_private
from protocol.token import encode_public_key, key_id

SIGNING_KEY_FILE = "signing-key.pem"


class AuthorityError(UserError):
    """The key directory is missing, damaged, or asked to do something impossible."""


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    public_key: str
    created: float
    revoked: bool


class Authority:
    """Keys in a directory: keys/<kid>.pem (private, mode 0600) and trust.json (public)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.trust_file = self.folder / "trust.json"

    def _read(self) -> dict:
        try:
            return jsontext.loads(self.trust_file.read_text())
        except FileNotFoundError:
            raise AuthorityError(
                f"no authority in {self.folder}: run 'vhd-provision authority init'") from None
        except PermissionError:
            raise AuthorityError(f"cannot read {self.trust_file}: permission denied (the issuer's keys are "
                                 "root's: run this with sudo)") from None
        except OSError as exc:
            raise AuthorityError(f"cannot read {self.trust_file}: {exc.strerror}") from None
        except ValueError as exc:
            raise AuthorityError(f"{self.trust_file} is damaged: {exc}") from None

    def _write(self, data: dict) -> None:
        tmp = self.trust_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(self.trust_file)
        self._write_signing_key(data)

    def _write_signing_key(self, data: dict) -> None:
        """signing-key.pem: a copy of the key new tokens are signed with, the one file the web
        site needs (as its `signing-key` credential); none while every key is revoked."""
        newest = _newest_live(data)
        target = self.folder / SIGNING_KEY_FILE
        if newest is None:
            target.unlink(missing_ok=True)
            return
        write_private(target, (self.folder / "keys" / f"{newest}.pem").read_bytes())

    def refresh_signing_key(self) -> Path:
        """Writes signing-key.pem again from the keys (a folder made before it existed); its path."""
        self._write_signing_key(self._read())
        return self.folder / SIGNING_KEY_FILE

    def exists(self) -> bool:
        return self.trust_file.exists()

    def init(self) -> KeyInfo:
        if self.exists():
            raise AuthorityError(f"an authority already exists in {self.folder}; use 'authority rotate'")
        (self.folder / "keys").mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder / "keys", 0o700)
        self._write({"keys": [], "revoked": []})
        return self.rotate()

    def rotate(self) -> KeyInfo:
        """A new signing key beside the old ones; new tokens are signed with it."""
        data = self._read()
        key = Ed25519PrivateKey.generate()
        kid = key_id(key.public_key())
        path = self.folder / "keys" / f"{kid}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
        public, created = encode_public_key(key.public_key()), time.time()
        data["keys"].append({"kid": kid, "public_key": public, "created": created})
        self._write(data)
        return KeyInfo(kid, public, created, False)

    def revoke(self, kid: str) -> None:
        data = self._read()
        if kid not in {k["kid"] for k in data["keys"]}:
            raise AuthorityError(f"no key {kid}")
        if kid not in data["revoked"]:
            data["revoked"].append(kid)
        self._write(data)

    def keys(self) -> list[KeyInfo]:
        data = self._read()
        return [KeyInfo(k["kid"], k["public_key"], k["created"], k["kid"] in data["revoked"])
                for k in data["keys"]]

    def signing_key(self) -> Ed25519PrivateKey:
        """The newest key that is not revoked."""
        newest = _newest_live(self._read())
        if newest is None:
            raise AuthorityError("every key is revoked: run 'vhd-provision authority rotate'")
        return load_signing_key(self.folder / "keys" / f"{newest}.pem")

    def trust(self) -> dict:
        """What gates need: every public key, and the revoked key ids."""
        keys = self.keys()
        return {"public_keys": [k.public_key for k in keys],
                "revoked_key_ids": [k.kid for k in keys if k.revoked]}


def _newest_live(data: dict) -> str | None:
    """The id of the key new tokens are signed with: the newest not revoked; None if all are."""
    live = [k for k in data["keys"] if k["kid"] not in data["revoked"]]
    return max(live, key=lambda k: k["created"])["kid"] if live else None


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """A private Ed25519 key from a PEM file (a key of the folder, or the web site's credential)."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise AuthorityError(f"cannot read the signing key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise AuthorityError(f"{path} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuthorityError(f"{path} is not an Ed25519 key")
    return key
