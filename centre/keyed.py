"""One keyed hash for the site: what correlates a phone, a user name or a code without keeping it."""

from __future__ import annotations

import hashlib
import hmac


def keyed_hash(text: str) -> str:
    """HMAC-SHA256 of `text` under the site's secret key, as hex."""
    from django.conf import settings

    return hmac.new(settings.SECRET_KEY.encode(), text.encode(), hashlib.sha256).hexdigest()
