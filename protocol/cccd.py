"""The QR on a Vietnamese chip-based citizen ID card (CCCD): an unsigned identity claim."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from protocol.event import citizen_id_ok, name_fits

MAX_CHARS = 600
# [0-9], never \d: \d also takes other scripts' digits and full-width ones, and "０７９２..." would
# be a citizen id that looks like 0792... on the screen and in a report but is never found by it.
_OLD_ID = re.compile(r"([0-9]{9}|[0-9]{12})?")
_DATE_COMPACT = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{4})")
_DATE_SLASHED = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
_SEXES = {"nam": "M", "nữ": "F", "nu": "F", "male": "M", "female": "F"}
# Characters that legitimately show up in card text: letters (any script), marks, spaces and
# the punctuation used in addresses.
_NAME_OK = re.compile(r"[^\W\d_]+(?:[ '\-.][^\W\d_]+)*")


class CccdError(ValueError):
    """The text looks like a CCCD QR but is not a valid one."""


@dataclass(frozen=True)
class CccdCard:
    citizen_id: str
    old_id: str
    name: str
    birth_date: date
    sex: str  # "M" or "F"
    address: str
    issue_date: date | None


def normalise(text: str) -> str:
    """NFC, no BOM, NBSP as space, no surrounding whitespace or line ends."""
    text = unicodedata.normalize("NFC", text.replace("\ufeff", ""))
    return text.replace("\u00a0", " ").replace("\u202f", " ").strip()


def looks_like_cccd(text: str) -> bool:
    """True when the text claims to be a CCCD QR (12-digit id then '|'), valid or not (digits of any
    script: such a text is a broken card, told as one)."""
    head = normalise(text[:40])
    return "|" in head and bool(re.match(r"\s*\d{9,13}\s*\|", head))


def _date(text: str, what: str) -> date:
    m = _DATE_COMPACT.fullmatch(text) or _DATE_SLASHED.fullmatch(text)
    if not m:
        raise CccdError(f"{what} is not DDMMYYYY or DD/MM/YYYY")
    day, month, year = (int(g) for g in m.groups())
    try:
        value = date(year, month, day)
    except ValueError:
        raise CccdError(f"{what} is not a real date") from None
    if not 1900 <= year <= 2100:
        raise CccdError(f"{what} is out of range")
    return value


def _fields(text: str) -> list[str]:
    """The 7 fields id|old id|name|DOB|sex|address|issue date, from any variant met in the field:
    all 7; 6 without the issue date (the second field an old id: 9 or 12 digits, or empty); or
    6 without the old id (the second field a name)."""
    fields = [f.strip() for f in text.split("|")]
    if len(fields) == 7:
        return fields
    if len(fields) != 6:
        raise CccdError(f"{len(fields)} fields, expected 6 or 7")
    if _OLD_ID.fullmatch(fields[1]):
        return [*fields, ""]
    return [fields[0], "", *fields[1:]]


def parse_cccd(text: str) -> CccdCard:
    """Parse the card QR in any of its variants (see _fields); CccdError for anything malformed."""
    if len(text) > MAX_CHARS:
        raise CccdError("too long")
    text = normalise(text)
    if "\n" in text or "\r" in text:
        raise CccdError("more than one line")
    fields = _fields(text)
    citizen_id, old_id, name, dob, sex, address = fields[:6]
    if not citizen_id_ok(citizen_id):
        raise CccdError("citizen id is not 12 digits 0-9")
    if not _OLD_ID.fullmatch(old_id):
        raise CccdError("old id is not empty, 9 or 12 digits")
    name = " ".join(name.split())
    if not name or not name_fits(name) or not _NAME_OK.fullmatch(name):
        raise CccdError("name is empty or has characters a name cannot have")
    birth = _date(dob, "birth date")
    sex_code = _SEXES.get(sex.casefold())
    if sex_code is None:
        raise CccdError("sex is not Nam or Nữ")
    if not address.isprintable() or len(address) > 300:
        raise CccdError("address has control characters")
    issued = _date(fields[6], "issue date") if fields[6] else None
    if issued is not None and issued < birth:
        raise CccdError("issued before birth")
    return CccdCard(citizen_id, old_id, name, birth, sex_code, address, issued)
