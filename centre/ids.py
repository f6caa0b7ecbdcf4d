"""Checkpoints' and declarations' ids as the site takes them, in an address or a form: only ids as
they are made (ASCII letters and digits, then '-', '_' or '.', at most 64) reach a query. Any
other text is no page (404) and never reaches the database (a NUL in one made PostgreSQL refuse
the look-up: a 500)."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from protocol.checkpoint import ID_PATTERN, valid_checkpoint_id


class Id:
    """The path converter: `<id:checkpoint_id>`."""

    regex = ID_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


def posted_id(request: HttpRequest, field: str) -> str:
    """The id a form sent in `field`; a missing or malformed one finds nothing (404)."""
    value = request.POST.get(field, "")
    if not valid_checkpoint_id(value):  # the rule for ids, a declaration's as a checkpoint's
        raise Http404
    return value
