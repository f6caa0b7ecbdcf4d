"""The bridge's counters for Prometheus, through prometheus_client, read at each scrape."""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

COUNTERS = (
    ("vhd_bridge_messages", "messages", "MQTT messages taken from the broker."),
    ("vhd_bridge_events", "events", "Check-in events written (new and repeated)."),
    ("vhd_bridge_events_new", "events_new", "Check-in events stored for the first time."),
    ("vhd_bridge_events_duplicate", "events_duplicate", "Retries of events already stored."),
    ("vhd_bridge_events_unplaced", "events_unplaced", "Events held until their gate's clock is known."),
    ("vhd_bridge_events_placed", "events_placed", "Held events placed in time and stored."),
    ("vhd_bridge_db_retries", "db_retries", "Database write attempts that failed and were retried."),
)


class BridgeCollector(Collector):
    def __init__(self, bridge):
        self.bridge = bridge

    def collect(self):
        b = self.bridge
        for name, key, help_ in COUNTERS:
            yield CounterMetricFamily(name, help_, value=b.counters[key])
        rejects = CounterMetricFamily("vhd_bridge_rejects", "Messages or events refused, by reason.",
                                      labels=["reason"])
        for reason, n in sorted(b.rejects.items()):
            rejects.add_metric([reason], n)
        yield rejects
        yield GaugeMetricFamily("vhd_bridge_devices_online", "Gates whose retained status is online.",
                                value=sum(1 for up in b.online.values() if up))
        samples = list(b.batch_seconds)
        yield SummaryMetricFamily("vhd_bridge_batch_seconds", "Time to validate, store and ack one batch "
                                  "(last 1000).", count_value=len(samples), sum_value=sum(samples))


def serve_metrics(bridge, address: str):
    """Prometheus metrics on http://HOST:PORT/metrics, in a thread; returns (server, thread)."""
    from prometheus_client import start_http_server

    from common.args import host_port

    host, port = host_port(address, "--metrics", "127.0.0.1:9108")
    registry = CollectorRegistry()
    registry.register(BridgeCollector(bridge))
    return start_http_server(port, addr=host, registry=registry)
