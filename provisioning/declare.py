"""Recording a health declaration on the central side and issuing the person's signed QR."""

from __future__ import annotations

import io
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from common.authority import Authority
from common.errors import UserError
from common.files import private_dir, write_private
from common.poster import declaration_qr
from protocol.event import citizen_id_ok
from protocol.person import normalise_address, normalise_insurance, normalise_name, normalise_phone
from protocol.token import issue_token

MAX_VALID_DAYS = 60


class DeclarationError(UserError, ValueError):
    """A field of the declaration is not acceptable."""


@dataclass(frozen=True)
class Declared:
    declaration_id: str
    token: str
    qr_png: Path


def validate(name: str, citizen_id: str, birth_year: int, sex: str, phone: str,
             insurance_no: str, on_behalf_of: str = "") -> tuple[str, str, str, str]:
    """The portal's rules (protocol/person.py), said for a command line; the name, phone,
    insurance number and relation as stored."""
    stored_name = normalise_name(name)
    if stored_name is None:
        raise DeclarationError("name: 1 to 100 letters (at most 160 bytes in UTF-8)")
    if citizen_id and not citizen_id_ok(citizen_id):
        raise DeclarationError("citizen id: 12 digits (0-9)")
    if not 1900 <= birth_year <= datetime.now(UTC).year:
        raise DeclarationError("birth year: a real year")
    if sex not in ("M", "F"):
        raise DeclarationError("sex: M or F")
    mobile = normalise_phone(phone) if phone else ""
    if mobile is None:
        raise DeclarationError("phone: a Vietnamese mobile number, 10 digits starting 03, 05, 07, 08 or 09")
    card = normalise_insurance(insurance_no) if insurance_no else ""
    if card is None:
        raise DeclarationError("health-insurance number: 2 letters then 13 digits, as on the card")
    relation = normalise_address(on_behalf_of) if on_behalf_of else ""
    if relation is None or len(relation) > 40:  # the portal's relation field
        raise DeclarationError("--on-behalf-of: who they are to the declarer, in at most 40 letters, digits, "
                               "spaces and , . - / ' # ( ) & : ;")
    return stored_name, mobile, card, relation


def declare(store, authority: Authority, out: Path, name: str, citizen_id: str, birth_year: int,
            sex: str, phone: str = "", insurance_no: str = "", on_behalf_of: str = "",
            valid_days: int = 14) -> Declared:
    name, phone, insurance_no, relation = validate(name, citizen_id, birth_year, sex, phone, insurance_no,
                                                   on_behalf_of)
    if not 1 <= valid_days <= MAX_VALID_DAYS:
        raise DeclarationError(f"--days: a declaration is valid for 1 to {MAX_VALID_DAYS} days")
    now = int(time.time())
    expires = now + valid_days * 86400
    declaration_id = f"VHD-{datetime.now(UTC).year}-{secrets.token_hex(5).upper()}"
    token = issue_token(authority.signing_key(), declaration_id, name, now, expires)
    # The QR is written first (private: it names the person): a declaration whose QR cannot be
    # written is not stored.
    private_dir(out)
    png = out / f"{declaration_id}.png"
    buf = io.BytesIO()
    declaration_qr(token, name, declaration_id).save(buf, format="PNG")
    write_private(png, buf.getvalue())
    try:
        store.add_declaration({
            "declaration_id": declaration_id, "full_name": name, "citizen_id": citizen_id or None,
            "birth_year": birth_year, "sex": sex, "phone": phone or None, "insurance_no": insurance_no or None,
            "on_behalf_of": relation or None,
            "expires_at": datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z")})
    except BaseException:
        png.unlink(missing_ok=True)
        raise
    return Declared(declaration_id, token, png)
