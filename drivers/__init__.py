"""Thin adapters over vendor libraries, each behind a small interface and with a fake."""
