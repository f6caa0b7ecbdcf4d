"""Check-ins made on the web (a phone at the poster, staff at the door): stored as a gate's are."""

from __future__ import annotations

import os
import re

from django.db import connection
from django.utils import timezone

from centre.ledger.models import Checkin
from centre.portal.models import Declaration
from mqtt_bridge.centre_api import store_on
from protocol.event import Event, format_time, uuid7


def web_event(checkpoint_id: str, d: Declaration, direction: str, event_id: str, source: str):
    now = timezone.now()
    return Event.from_dict(dict(event_id=event_id, device_id=source, checkpoint_id=checkpoint_id,
                                direction=direction, kind="vhd", subject=d.declaration_id,
                                display_name=d.full_name, scanned_at=format_time(now), mono_ns=0,
                                boot_id=source, time_synced=True, firmware="portal"))


def store_checkin(event) -> Checkin | None:
    """Into the check-ins, as the bridge stores a gate's: once per event id (a second press or a
    reload sends the same id). Returns what is stored under that id, this press's or an earlier
    one's, to be shown as it is; None when the id holds another check-in (a form sent again at
    another checkpoint, for another person or direction): nothing was stored for this one."""
    connection.ensure_connection()  # Django's own connection: none opened beside it per check-in
    if store_on(connection.vendor, connection.connection).insert_checkins([event]) == 1:
        return Checkin(event_id=event.event_id, checkpoint_id=event.checkpoint_id, subject=event.subject,
                       direction=event.direction, scanned_at=event.time, kind=event.kind)  # this press's, as stored
    stored = Checkin.objects.filter(event_id=event.event_id).first()  # an earlier press's, or another's
    if stored is None or (stored.checkpoint_id, stored.subject, stored.direction) != (
            event.checkpoint_id, event.subject, event.direction):
        return None
    return stored


def new_event_id() -> str:
    return uuid7(int(timezone.now().timestamp() * 1000), os.urandom(10))


EVENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
