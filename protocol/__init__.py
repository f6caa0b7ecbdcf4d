"""Formats both ends agree on: credentials, events and topics; pure code, no I/O."""
