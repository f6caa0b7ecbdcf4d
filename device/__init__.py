"""The gate daemon: config, scan loop, policy, durable queue, feedback screens and CLI."""

__version__ = "0.1.0"
