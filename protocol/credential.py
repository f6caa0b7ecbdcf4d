"""Classify whatever a camera decoded: a personal token, a CCCD card, or something else."""

from __future__ import annotations

from dataclasses import dataclass

from protocol import token as tok
from protocol.cccd import CccdError, looks_like_cccd, parse_cccd

VHD = "vhd"
CCCD = "cccd"
UNKNOWN = "unknown"

# Reasons beyond the token's own (protocol.token): every refusal has exactly one.
NOT_A_DECLARATION = "not_a_declaration"
INVALID_CCCD = "invalid_cccd"
CCCD_NOT_ACCEPTED = "cccd_not_accepted"

REASONS = (tok.MALFORMED, tok.UNKNOWN_KEY, tok.REVOKED_KEY, tok.BAD_SIGNATURE, tok.EXPIRED,
           tok.NOT_YET_VALID, tok.DELETED_DECLARATION, NOT_A_DECLARATION, INVALID_CCCD, CCCD_NOT_ACCEPTED)


@dataclass(frozen=True)
class Credential:
    """A credential that passed its checks: who is at the door."""

    kind: str  # VHD or CCCD
    subject: str  # declaration id, or citizen id for a card
    name: str  # display name, NFC
    expires_at: int | None = None


@dataclass(frozen=True)
class Classified:
    kind: str
    credential: Credential | None
    reason: str | None

    @property
    def accepted(self) -> bool:
        return self.credential is not None


def payload_text(raw: bytes | None, text: str) -> str:
    """The payload as text: the raw bytes as UTF-8 when they are, else the decoder's text."""
    if raw:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return text


def classify(text: str, trust: tok.TrustStore, now: int, accept_cccd: bool = True) -> Classified:
    """Never raises: every input ends as a credential or a refusal with its reason."""
    if text.startswith(tok.PREFIX):
        try:
            t = tok.verify_token(text, trust, now)
        except tok.TokenError as exc:
            return Classified(VHD, None, exc.reason)
        return Classified(VHD, Credential(VHD, t.declaration_id, t.name, t.expires_at), None)
    if looks_like_cccd(text):
        try:
            card = parse_cccd(text)
        except CccdError:
            return Classified(CCCD, None, INVALID_CCCD)
        if not accept_cccd:
            return Classified(CCCD, None, CCCD_NOT_ACCEPTED)
        return Classified(CCCD, Credential(CCCD, card.citizen_id, card.name), None)
    return Classified(UNKNOWN, None, NOT_A_DECLARATION)
