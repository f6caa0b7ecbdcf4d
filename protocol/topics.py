"""MQTT topic names: a versioned prefix with the device id alone at a fixed level."""

from __future__ import annotations

PREFIX = "vhd/v1/gates"
CHANNELS = ("events", "ack", "status", "telemetry", "config", "cmd")
# One retained message for every gate: the declarations deleted while their QR was valid
# (protocol.messages.DeletedDeclarations), published by the bridges.
DELETED_DECLARATIONS = "vhd/v1/declarations/deleted"


def topic(device_id: str, channel: str) -> str:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    return f"{PREFIX}/{device_id}/{channel}"


def parse(topic_name: str) -> tuple[str, str] | None:
    """(device_id, channel) for a gate topic, or None."""
    parts = topic_name.split("/")
    if len(parts) != 5 or "/".join(parts[:3]) != PREFIX or parts[4] not in CHANNELS:
        return None
    return parts[3], parts[4]
