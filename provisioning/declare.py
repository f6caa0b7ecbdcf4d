"""Recording a health declaration on the central side and issuing the person's signed QR."""

from __future__ import annotations

import io
import secrets
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from common.authority import Authority
from common.errors import UserError
from common.files import private_dir, write_private
from common.poster import declaration_qr
from protocol.event import name_fits
from protocol.token import issue_token

MAX_VALID_DAYS = 60


class DeclarationError(UserError, ValueError):
    """A field of the declaration is not acceptable."""


@dataclass(frozen=True)
class Declared:
    declaration_id: str
    token: str
    qr_png: Path


def validate(name: str, citizen_id: str, birth_year: int, sex: str, phone: str, insurance_no: str) -> None:
    if not name.strip() or len(name) > 100 or not name_fits(name):
        raise DeclarationError("name: 1 to 100 printable characters (at most 160 bytes in UTF-8)")
    if citizen_id and not (citizen_id.isdigit() and len(citizen_id) in (9, 12)):
        raise DeclarationError("citizen id: 12 digits (or an old 9-digit id)")
    if not 1900 <= birth_year <= datetime.now(UTC).year:
        raise DeclarationError("birth year: a real year")
    if sex not in ("M", "F"):
        raise DeclarationError("sex: M or F")
    digits = phone.replace(" ", "").lstrip("+")
    if phone and not (digits.isdigit() and 9 <= len(digits) <= 12):
        raise DeclarationError("phone: 9 to 12 digits")
    if insurance_no and not (insurance_no.isalnum() and len(insurance_no) <= 15):
        raise DeclarationError("health-insurance number: up to 15 letters and digits")


def declare(store, authority: Authority, out: Path, name: str, citizen_id: str, birth_year: int,
            sex: str, phone: str = "", insurance_no: str = "", on_behalf_of: str = "",
            valid_days: int = 14) -> Declared:
    name = unicodedata.normalize("NFC", " ".join(name.split()))
    validate(name, citizen_id, birth_year, sex, phone, insurance_no)
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
            "on_behalf_of": on_behalf_of or None,
            "expires_at": datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z")})
    except BaseException:
        png.unlink(missing_ok=True)
        raise
    return Declared(declaration_id, token, png)
