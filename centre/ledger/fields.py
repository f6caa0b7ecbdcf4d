"""Times as the declaration database keeps them, for the ORM and the bridge alike."""

from __future__ import annotations

from datetime import UTC

from django.db import models
from django.utils import timezone

from protocol.event import format_time


class StoredTime(models.DateTimeField):
    """A time: timestamptz on PostgreSQL; on SQLite the UTC ISO 8601 text the bridge writes
    (2021-09-15T01:30:00.000Z), so what the ORM writes and compares sorts with what the bridge
    wrote. (Django's own SQLite text, "2021-09-15 01:30:00", sorts before any "T" of the same day.)"""

    def get_db_prep_value(self, value, connection, prepared=False):
        if connection.vendor != "sqlite":
            return super().get_db_prep_value(value, connection, prepared)
        if not prepared:
            value = self.get_prep_value(value)
        if value is None:
            return None
        return format_time(value if timezone.is_aware(value) else timezone.make_aware(value, UTC))
