"""JSON read from a file or a message this code does not control."""

from __future__ import annotations

import json


def loads(text: str | bytes):
    """json.loads, with text nested deeper than Python recurses refused by a ValueError, as every
    other malformed text is (json.JSONDecodeError), not a RecursionError traceback."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None
