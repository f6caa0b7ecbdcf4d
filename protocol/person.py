"""A person's declared fields, one rule set for every place that takes them (the portal, staff at
the door, the command line): pure functions, ASCII digits and letters only where a card has them."""

from __future__ import annotations

import re
import unicodedata

from protocol.event import name_fits

# Mobile numbers: 10 digits, 03/05/07/08/09 (after the 2018 renumbering). [0-9], never \d: that
# would take fullwidth or Arabic-Indic digits, which no gate's scan of the same card would match.
_MOBILE = re.compile(r"0[35789][0-9]{8}")
# The health-insurance card: 2 letters (group), 1 digit (benefit level), 2 digits (province), 10 digits.
_INSURANCE = re.compile(r"[A-Z]{2}[0-9]{13}")
NAME_MAX = 100


def normalise_phone(text: str) -> str | None:
    """A Vietnamese mobile number as 10 digits (0XXXXXXXXX), from 09..., +849..., 849...; else None."""
    digits = re.sub(r"[\s.\-()]", "", text or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits if _MOBILE.fullmatch(digits) else None


NAME_PUNCTUATION = " -.'"


def _name_character(c: str) -> bool:
    """A letter of the Latin script (Vietnamese's, with its tone marks) or a name's punctuation:
    what the gate's screen and the printed card draw. Emoji, symbols, digits and other scripts
    would be stored and drawn as boxes."""
    if c in NAME_PUNCTUATION:
        return True
    if unicodedata.category(c).startswith("M"):
        return True  # a tone mark NFC could not compose onto its letter
    return unicodedata.category(c).startswith("L") and unicodedata.name(c, "").startswith("LATIN ")


def normalise_name(text: str) -> str | None:
    """The name as stored and signed (NFC, single spaces), or None if it cannot be: empty, over
    100 letters, a character that is not a Latin letter (Vietnamese's included) or a name's
    punctuation, or more than the token carries."""
    name = unicodedata.normalize("NFC", " ".join((text or "").split()))
    return name if (name and len(name) <= NAME_MAX and all(_name_character(c) for c in name)
                    and name_fits(name)) else None


ADDRESS_PUNCTUATION = frozenset(" ,.-/'#()&:;")


def normalise_address(text: str) -> str | None:
    """An address or a place's name as stored (NFC, single spaces), or None where it holds what an
    address does not: Latin letters (Vietnamese's), ASCII digits and , . - / ' # ( ) & : ; only."""
    value = unicodedata.normalize("NFC", " ".join((text or "").split()))
    ok = all(_name_character(c) or c in ADDRESS_PUNCTUATION or c in "0123456789" for c in value)
    return value if ok else None


def normalise_insurance(text: str) -> str | None:
    """The card number upper-cased, or None where it is not 2 Latin letters and 13 digits."""
    value = (text or "").strip().upper()
    return value if _INSURANCE.fullmatch(value) else None
