"""The checkpoint's QR (poster and gate idle screen): the portal's address for that checkpoint,
so any phone camera opens it; a gate without a portal address shows the bare id form."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, urlparse

PATH = "/c/"
ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"  # a checkpoint's id; a declaration's keeps to it too
_ID = re.compile(ID_PATTERN)


def valid_checkpoint_id(text: str) -> bool:
    """A checkpoint id every part can carry as it is: in a web address, a file name, a topic, a
    poster: ASCII letters and digits first, then also '-', '_' and '.', at most 64 characters."""
    return bool(_ID.fullmatch(text))


CHECKPOINT_ID_RULE = "ASCII letters and digits, then also '-', '_' or '.', at most 64 characters (e.g. CP-Q1-0001)"
# A checkpoint's name, address, phone and unit, at most this long, as the site's table holds them.
TEXT_LIMITS = {"name": 200, "address": 300, "contact_phone": 40, "unit": 200}


def one_line(text: str) -> bool:
    """Text a poster, a gate's screen and its config file, and a report's cell all carry as it is:
    one line, without control or invisible formatting characters (a newline in a name made the
    gate's config unreadable; a right-to-left override would show a name backwards). Any space
    counts as a space."""
    return all(c.isprintable() or unicodedata.category(c) == "Zs" for c in text)


def checkpoint_text_problem(fields: dict[str, str]) -> str | None:
    """What is wrong with a checkpoint's text fields (TEXT_LIMITS' keys), or None."""
    for key, value in fields.items():
        if value and not (one_line(value) and len(value) <= TEXT_LIMITS[key]):
            return f"checkpoint {key}: one line of text, at most {TEXT_LIMITS[key]} characters"
    return None


def _parsed(url: str):
    """The address's parts, or None where Python cannot read it ("https://[" is an unclosed IPv6
    host: urlparse raises, and so does reading a bad port)."""
    try:
        u = urlparse(url)
        u.hostname, u.port  # noqa: B018 - read here, so they cannot raise later
    except ValueError:
        return None
    return u


def valid_portal_url(url: str) -> bool:
    u = _parsed(url)
    return u is not None and u.scheme in ("https", "http") and bool(u.hostname) and not u.query and not u.fragment


def checkpoint_qr_text(checkpoint_id: str, portal_url: str = "") -> str:
    """`https://portal.example/c/CP-Q1-0001` with a portal address, else `VHDCP:CP-Q1-0001`."""
    if portal_url and valid_portal_url(portal_url):
        return portal_url.rstrip("/") + PATH + quote(checkpoint_id, safe="")
    return f"VHDCP:{checkpoint_id}"


def checkpoint_from_url(text: str) -> str | None:
    """The checkpoint id in a portal address or the bare form; None for anything else."""
    if text.startswith("VHDCP:"):
        cid = text[6:]
    else:
        u = _parsed(text)
        if u is None or u.scheme not in ("https", "http") or not u.path.startswith(PATH):
            return None
        cid = u.path[len(PATH):].rstrip("/")
    return cid if valid_checkpoint_id(cid) else None
