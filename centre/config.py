"""The centre's configuration: one folder (/etc/vhd-centre or $VHD_CENTRE_HOME), secrets in files
or systemd credentials, the database found as every centre command finds it."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from common.errors import UserError
from common.files import private_file
from mqtt_bridge.centre_api import database_url_parts, find_database_url, secret_path
from protocol.checkpoint import valid_portal_url


class OneLine(logging.Filter):
    """Log records without their traceback: for what a visitor causes, not what the code does."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info, record.exc_text = None, None
        return True


class WithoutRowDetail(logging.Filter):
    """Log records without a database's DETAIL lines, which quote the row it refused ("Key
    (phone)=(09...) already exists"): what failed and where stay in the log, the person does not."""

    @staticmethod
    def _drop(text: str) -> str:
        return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("DETAIL:"))

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and "DETAIL:" in record.exc_text:
            record.exc_text = self._drop(record.exc_text)
        message = record.getMessage()
        if "DETAIL:" in message:
            record.msg, record.args = self._drop(message), ()
        return True


class CentreConfigError(UserError):
    """The centre cannot start as configured; the message says what to fix."""


def home() -> Path:
    return Path(os.environ.get("VHD_CENTRE_HOME") or "/etc/vhd-centre")


def database_url() -> str:
    return os.environ.get("VHD_CENTRE_DB") or find_database_url(None, None)


def django_databases(url: str) -> dict:
    """Django's DATABASES entry for a postgresql:// or sqlite:/// URL (as vhd-bridge takes them)."""
    u = database_url_parts(url)
    if u.scheme in ("postgresql", "postgres"):
        options = {}
        opts = parse_qs(u.query).get("options")
        if opts:
            options["options"] = opts[0]
        return {"ENGINE": "django.db.backends.postgresql", "NAME": unquote(u.path.lstrip("/")),
                "USER": unquote(u.username or ""), "PASSWORD": unquote(u.password or ""),
                "HOST": u.hostname or "", "PORT": str(u.port or ""), "OPTIONS": options,
                "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}
    if u.scheme == "sqlite" and url.startswith("sqlite:///"):
        private_file(Path(url[len("sqlite:///"):]))  # names, id numbers, phones, password hashes
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": url[len("sqlite:///"):],
                "OPTIONS": {"timeout": 20}}
    raise CentreConfigError(f"unsupported database URL scheme {u.scheme!r}: use postgresql:// or sqlite:///")


def secret_key() -> str:
    """Django's signing key: the `django-secret` credential or file, made on first use."""
    path = secret_path("django-secret")
    try:
        key = path.read_text().strip()
        if len(key) >= 32:
            return key
    except OSError:
        pass
    target = home() / "django-secret"
    key = secrets.token_urlsafe(48)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
    except FileExistsError:
        return target.read_text().strip()
    except OSError as exc:
        raise CentreConfigError(f"no django-secret credential and cannot write {target}: {exc.strerror}") from None
    return key


def portal_url() -> str:
    """The portal's public address ($VHD_PORTAL_URL, or the `portal-url` credential or file)."""
    url = os.environ.get("VHD_PORTAL_URL", "")
    if not url:
        try:
            url = secret_path("portal-url").read_text().strip()
        except OSError:
            url = ""
    if url and not valid_portal_url(url):
        raise CentreConfigError(f"the portal's address {url!r} (VHD_PORTAL_URL or the portal-url file) is not "
                                "an https:// address, e.g. https://khaibao.example")
    return url


def allowed_hosts(listed: str, portal: str) -> list[str]:
    hosts = [h.strip() for h in listed.split(",") if h.strip()]
    host = urlparse(portal).hostname if portal else None
    return hosts + [host] if host and host not in hosts else hosts


def text(name: str, default: str = "") -> str:
    """A setting from the environment (settings.py reads each once, at start)."""
    return os.environ.get(name, default)


def number(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not (value.isascii() and value.isdigit()):  # "²" is a digit to isdigit, not to int
        raise CentreConfigError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")
