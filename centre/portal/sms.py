"""Sending SMS behind a setting, as Django sends e-mail: console, file (JSON lines), or an HTTP gateway."""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import threading
import urllib.error
import urllib.request

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from common.errors import UserError
from common.files import read_secret
from common.smsbody import sms_body

logger = logging.getLogger(__name__)


class SmsError(UserError):
    """The message could not be sent; the text is shown to the person."""


# The short names the settings have always taken, for the classes below.
ALIASES = {"console": "centre.portal.sms.ConsoleBackend", "file": "centre.portal.sms.FileBackend",
           "http": "centre.portal.sms.HttpBackend", "locmem": "centre.portal.sms.LocmemBackend"}

outbox: list[tuple[str, str]] = []  # what LocmemBackend "sent": (phone, text), as django.core.mail.outbox


class ConsoleBackend:
    """Development only: the code on the terminal (never on a server: the journal would keep it)."""

    def send(self, phone: str, text: str) -> None:
        print(f"SMS to {phone}: {text}", flush=True)


class FileBackend:
    """JSON lines appended to SMS_FILE (private): the demo's and the tests' outbox across processes."""

    def send(self, phone: str, text: str) -> None:
        line = json.dumps({"to": phone, "text": text}, ensure_ascii=False) + "\n"
        fd = os.open(settings.SMS_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(line)


class LocmemBackend:
    """Kept in this process's `outbox`, for tests through Django's test client."""

    def send(self, phone: str, text: str) -> None:
        outbox.append((phone, text))


class HttpBackend:
    """An SMS gateway over HTTP(S): SMS_URL, SMS_TEMPLATE, a bearer token from SMS_TOKEN_FILE."""

    def send(self, phone: str, text: str) -> None:
        _http(phone, text)


def send(phone: str, text: str) -> None:
    """Through the backend SMS_BACKEND names: a dotted path to a class with send(phone, text), as
    Django's EMAIL_BACKEND, or one of ALIASES."""
    try:
        backend = import_string(ALIASES.get(settings.SMS_BACKEND, settings.SMS_BACKEND))
    except ImportError:
        logger.error("SMS_BACKEND %r is neither a dotted path nor one of %s", settings.SMS_BACKEND, sorted(ALIASES))
        raise SmsError(_("the SMS gateway did not answer; try again in a minute")) from None
    backend().send(phone, text)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A gateway's 3xx is its answer: urllib would follow it with a GET carrying the bearer token
    to wherever it points, and count that GET's 200 as the message sent."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises the 3xx as an HTTPError


class _Deadline:
    """A connection shut once its timeout has passed since it began: the timeout alone bounds
    each read, so a gateway sending its answer a byte at a time held a worker for as long as it
    went on (a minute, or for ever)."""

    timeout: float | None
    sock: socket.socket | None
    _expired = False
    _timer: threading.Timer | None = None

    def connect(self) -> None:
        if self.timeout is not None:
            self._timer = threading.Timer(self.timeout, self._shut)
            self._timer.daemon = True
            self._timer.start()
        super().connect()  # type: ignore[misc]
        if self._expired:
            self._shut()

    def getresponse(self) -> http.client.HTTPResponse:
        response = super().getresponse()  # type: ignore[misc]
        if self._timer is not None:
            self._timer.cancel()
        if self._expired:  # what came before the cut may look whole: "200 OK" and half its headers
            response.close()
            raise TimeoutError("the gateway's answer took longer than its timeout")
        return response

    def _shut(self) -> None:
        self._expired = True
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # the read waiting on it returns at once
            except OSError:
                pass  # closed already: the answer came in time


class _DeadlineHTTP(_Deadline, http.client.HTTPConnection):
    pass


class _DeadlineHTTPS(_Deadline, http.client.HTTPSConnection):
    pass


class _DeadlineHandler(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
    def http_open(self, req):
        return self.do_open(_DeadlineHTTP, req)

    def https_open(self, req):
        return self.do_open(_DeadlineHTTPS, req, context=self._context)


_opener = urllib.request.build_opener(_NoRedirect, _DeadlineHandler)


def _http(phone: str, text: str) -> None:
    """POST the gateway's JSON body (its template filled in), with a bearer token from a file."""
    try:
        body = sms_body(settings.SMS_TEMPLATE, phone, text)
    except ValueError as exc:  # the operator's setting: their log says what to fix, the person to retry
        logger.error("%s: fix VHD_SMS_TEMPLATE (vhd-provision centre install --sms-template)", exc)
        raise SmsError(_("the SMS gateway did not answer; try again in a minute")) from None
    headers = {"Content-Type": "application/json"}
    if not settings.SMS_URL:
        logger.error("no SMS gateway address: set VHD_SMS_URL (vhd-provision centre install --sms-url)")
        raise SmsError(_("the SMS gateway did not answer; try again in a minute"))
    if settings.SMS_TOKEN_FILE:
        try:
            headers["Authorization"] = "Bearer " + read_secret(settings.SMS_TOKEN_FILE)
        except (OSError, ValueError) as exc:
            logger.error("cannot read the SMS gateway's token %s: %s", settings.SMS_TOKEN_FILE,
                         getattr(exc, "strerror", None) or exc)
            raise SmsError(_("the SMS gateway did not answer; try again in a minute")) from None
    req = urllib.request.Request(settings.SMS_URL, data=json.dumps(body).encode(), headers=headers)
    try:
        with _opener.open(req, timeout=settings.SMS_TIMEOUT_SECONDS) as r:
            if not 200 <= r.status < 300:
                raise SmsError(_("the SMS gateway refused the message; try again in a minute"))
    except urllib.error.HTTPError as exc:
        logger.warning("SMS gateway answered %s", exc.code)
        raise SmsError(_("the SMS gateway refused the message; try again in a minute")) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        logger.warning("SMS gateway unreachable: %s", type(exc).__name__)
        raise SmsError(_("the SMS gateway did not answer; try again in a minute")) from None
    except http.client.HTTPException as exc:  # not HTTP: a garbled status line, a header too long
        logger.warning("SMS gateway's answer is not HTTP: %s", type(exc).__name__)
        raise SmsError(_("the SMS gateway did not answer; try again in a minute")) from None
