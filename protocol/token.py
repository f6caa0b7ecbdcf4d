"""The personal QR token: Ed25519-signed, Base45-encoded, verifiable offline on the gate."""

from __future__ import annotations

import base64
import hashlib
import struct
import unicodedata
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from protocol.base45 import Base45Error, b45decode, b45encode
from protocol.event import MAX_NAME_BYTES, name_fits

PREFIX = "VHD1:"
VERSION = 1
DOMAIN = b"VHD-TOKEN-V1"  # signed with the body so a signature never verifies another format
KID_BYTES = 8
SIG_BYTES = 64
MAX_ID_BYTES = 64
MAX_TOKEN_CHARS = 1024
_HEAD = struct.Struct(">B8sII")  # version, kid, issued_at, expires_at
DEFAULT_SKEW_S = 300  # a gate's clock may be a few minutes off before NTP sync

# Reasons a token is refused; the gate shows each one differently.
MALFORMED = "malformed_token"
UNKNOWN_KEY = "unknown_key"
REVOKED_KEY = "revoked_key"
BAD_SIGNATURE = "bad_signature"
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"
DELETED_DECLARATION = "deleted_declaration"  # genuine and valid, but its declaration was deleted


class TokenError(ValueError):
    """A token that must be refused; `reason` is one of the module's reason codes."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class Token:
    kid: str
    declaration_id: str
    name: str
    issued_at: int
    expires_at: int


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A key's id: the first 8 bytes of SHA-256 over its raw public key, in hex."""
    return hashlib.sha256(public_key_bytes(key)).digest()[:KID_BYTES].hex()


def encode_public_key(key: Ed25519PublicKey) -> str:
    return base64.b64encode(public_key_bytes(key)).decode("ascii")


def decode_public_key(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise ValueError("not a base64 Ed25519 public key (32 bytes)") from exc


@dataclass
class TrustStore:
    """The public keys a gate trusts, by key id, and the key ids revoked since."""

    keys: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    revoked: frozenset[str] = frozenset()
    deleted: frozenset[str] = frozenset()  # declaration ids (protocol.messages.DeletedDeclarations)

    @classmethod
    def from_public_keys(cls, encoded: list[str], revoked: list[str] | tuple[str, ...] = ()) -> TrustStore:
        keys = {}
        for text in encoded:
            key = decode_public_key(text)
            keys[key_id(key)] = key
        return cls(keys=keys, revoked=frozenset(k.lower() for k in revoked))


def _clean_name(name: str) -> bytes:
    return unicodedata.normalize("NFC", name).strip().encode("utf-8")


def issue_token(private_key: Ed25519PrivateKey, declaration_id: str, name: str,
                issued_at: int, expires_at: int) -> str:
    """Sign a token for one declaration; the result goes into a QR code as it is."""
    decl = declaration_id.encode("utf-8")
    raw_name = _clean_name(name)
    if not 0 < len(decl) <= MAX_ID_BYTES:
        raise ValueError(f"declaration id must be 1..{MAX_ID_BYTES} bytes")
    if len(raw_name) > MAX_NAME_BYTES:
        raise ValueError(f"name must be at most {MAX_NAME_BYTES} bytes in UTF-8")
    if expires_at <= issued_at:
        raise ValueError("a token must expire after it is issued")
    kid = bytes.fromhex(key_id(private_key.public_key()))
    body = (_HEAD.pack(VERSION, kid, issued_at, expires_at)
            + bytes([len(decl)]) + decl + bytes([len(raw_name)]) + raw_name)
    return PREFIX + b45encode(body + private_key.sign(DOMAIN + body))


def parse_token(text: str) -> tuple[Token, bytes, bytes]:
    """Split a token into its fields, the signed body and the signature, without verifying."""
    if not text.startswith(PREFIX):
        raise TokenError(MALFORMED, "missing prefix")
    if len(text) > MAX_TOKEN_CHARS:
        raise TokenError(MALFORMED, "too long")
    try:
        blob = b45decode(text[len(PREFIX):])
    except Base45Error as exc:
        raise TokenError(MALFORMED, str(exc)) from None
    if len(blob) < _HEAD.size + 2 + SIG_BYTES:
        raise TokenError(MALFORMED, "too short")
    body, sig = blob[:-SIG_BYTES], blob[-SIG_BYTES:]
    version, kid, iat, exp = _HEAD.unpack_from(body)
    if version != VERSION:
        raise TokenError(MALFORMED, "unsupported version")
    pos = _HEAD.size
    fields = []
    for _ in range(2):
        if pos >= len(body):
            raise TokenError(MALFORMED, "truncated")
        n = body[pos]
        value = body[pos + 1:pos + 1 + n]
        if len(value) != n:
            raise TokenError(MALFORMED, "truncated")
        fields.append(value)
        pos += 1 + n
    if pos != len(body):
        raise TokenError(MALFORMED, "trailing bytes")
    try:
        decl, name = (f.decode("utf-8") for f in fields)
    except UnicodeDecodeError:
        raise TokenError(MALFORMED, "text is not UTF-8") from None
    if not decl or not decl.isprintable():
        raise TokenError(MALFORMED, "bad declaration id")
    name = unicodedata.normalize("NFC", name)
    if not name_fits(name):  # the centre would refuse the check-in: never greet it at the door
        raise TokenError(MALFORMED, "bad name")
    token = Token(kid.hex(), decl, name, iat, exp)
    return token, body, sig


def verify_token(text: str, trust: TrustStore, now: int, skew: int = DEFAULT_SKEW_S) -> Token:
    """The token's fields if it is genuine and valid at `now` (UTC seconds), else TokenError."""
    token, body, sig = parse_token(text)
    if token.kid in trust.revoked:
        raise TokenError(REVOKED_KEY, token.kid)
    key = trust.keys.get(token.kid)
    if key is None:
        raise TokenError(UNKNOWN_KEY, token.kid)
    try:
        key.verify(sig, DOMAIN + body)
    except InvalidSignature:
        raise TokenError(BAD_SIGNATURE) from None
    if now >= token.expires_at:
        raise TokenError(EXPIRED)
    if now + skew < token.issued_at:
        raise TokenError(NOT_YET_VALID)
    if token.declaration_id in trust.deleted:
        raise TokenError(DELETED_DECLARATION)
    return token
