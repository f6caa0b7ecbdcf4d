"""Prometheus text exposition of the bridge's counters (no client library needed)."""

from __future__ import annotations


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(bridge, devices_online: int) -> str:
    lines = [
        "# HELP vhd_bridge_devices_online Gates whose retained status is online.",
        "# TYPE vhd_bridge_devices_online gauge",
        f"vhd_bridge_devices_online {devices_online}",
    ]
    if bridge is None:
        return "\n".join(lines) + "\n"
    c = bridge.counters
    for name, key, help_ in (
            ("vhd_bridge_messages_total", "messages", "MQTT messages taken from the broker."),
            ("vhd_bridge_events_total", "events", "Check-in events written (new and repeated)."),
            ("vhd_bridge_events_new_total", "events_new", "Check-in events stored for the first time."),
            ("vhd_bridge_events_duplicate_total", "events_duplicate", "Retries of events already stored."),
            ("vhd_bridge_db_retries_total", "db_retries", "Database write attempts that failed and were retried.")):
        lines += [f"# HELP {name} {help_}", f"# TYPE {name} counter", f"{name} {c[key]}"]
    lines += ["# HELP vhd_bridge_rejects_total Messages or events refused, by reason.",
              "# TYPE vhd_bridge_rejects_total counter"]
    lines += [f'vhd_bridge_rejects_total{{reason="{_escape(r)}"}} {n}' for r, n in sorted(bridge.rejects.items())]
    samples = sorted(bridge.batch_seconds)
    lines += ["# HELP vhd_bridge_batch_seconds Time to validate, store and ack one batch (last 1000).",
              "# TYPE vhd_bridge_batch_seconds summary"]
    for q in (0.5, 0.9, 0.99):
        value = samples[min(len(samples) - 1, int(q * len(samples)))] if samples else 0.0
        lines.append(f'vhd_bridge_batch_seconds{{quantile="{q}"}} {value:.6f}')
    lines += [f"vhd_bridge_batch_seconds_sum {sum(samples):.6f}", f"vhd_bridge_batch_seconds_count {len(samples)}"]
    return "\n".join(lines) + "\n"
