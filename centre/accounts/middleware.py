"""Around every request: a content security policy (only the site's own scripts, styles and
images), no cache for a signed-in page, a request the site cannot read refused as such, the site's
language, and a database out of reach answered as such."""

import logging

logger = logging.getLogger("centre.database")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def content_security_policy(get_response):
    def middleware(request):
        response = get_response(request)
        response.setdefault("Content-Security-Policy", CSP)
        return response

    return middleware


def private_pages(get_response):
    """Pages for someone signed in are kept by no cache: a district's shared computer or a unit's
    phone at the door showed the last person's trace, look-up or declarations again on Back after
    signing out. The phone's own offline copies of its declarations are the service worker's,
    which signing out clears. A page that says how it may be kept (the wards' list) keeps its word."""
    from django.conf import settings
    from django.utils.cache import patch_cache_control

    def middleware(request):
        response = get_response(request)
        if settings.SESSION_COOKIE_NAME in request.COOKIES and not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response

    return middleware


class UnreadableRequest:
    """A request the site cannot read is a 400 page, never a 500 from whichever query met it first:
    - a NUL character in the address, the query or a form: no one's input (no keyboard types it),
      and PostgreSQL's text cannot hold it (the admin's change pages, list filters and actions);
    - a number past what the database holds (SQLite's 64-bit integers: a list filter or an admin
      action with a 30-digit id raised OverflowError in the driver)."""

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def _holds_nul(query) -> bool:
        return any("\x00" in key or any("\x00" in v for v in values) for key, values in query.lists())

    def __call__(self, request):
        from django.core.exceptions import BadRequest

        if "\x00" in request.path or self._holds_nul(request.GET) or (
                request.method == "POST" and self._holds_nul(request.POST)):
            raise BadRequest("a NUL character in the request")
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.http import HttpResponseBadRequest
        from django.template.loader import render_to_string

        if not isinstance(exception, OverflowError):
            return None
        logging.getLogger("centre.requests").warning("request refused, a number out of range: %s", exception)
        return HttpResponseBadRequest(render_to_string("400.html", request=request))


def language(get_response):
    """Vietnamese unless the user chose English (the language switch's cookie): a browser set to
    English does not turn the district's site English by itself."""
    from django.conf import settings
    from django.utils import translation

    choices = dict(settings.LANGUAGES)

    def middleware(request):
        lang = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if lang not in choices:
            lang = settings.LANGUAGE_CODE
        translation.activate(lang)
        request.LANGUAGE_CODE = lang
        response = get_response(request)
        response.headers.setdefault("Content-Language", lang)
        return response

    return middleware


class DatabaseUnavailable:
    """A database the site cannot reach or write to now (stopped, restarting, read-only, a
    failover, a lock waited out) is a 503 with Retry-After and a page saying that what this page
    sent was not saved, logged in one line: not a 500 saying "nothing is lost" and a traceback for
    every request while it lasts. What PostgreSQL says of a row itself (classes 22, 23, 54, as the
    bridge reads them) stays a 500: sending it again would not help."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.db import DatabaseError, InterfaceError, OperationalError
        from django.http import HttpResponse
        from django.template.loader import render_to_string

        from mqtt_bridge.centre_api import StoreError, row_refused  # a check-in goes through the bridge's store

        sqlstate = getattr(exception.__cause__, "sqlstate", None)
        if not (isinstance(exception, (OperationalError, InterfaceError))
                or (isinstance(exception, DatabaseError) and sqlstate and not row_refused(sqlstate))
                or (isinstance(exception, StoreError) and exception.transient)):
            return None
        logger.warning("database unavailable: %s", (str(exception).strip().splitlines() or [""])[0])
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = "60"
        return response
