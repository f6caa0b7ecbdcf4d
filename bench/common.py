"""Shared by the benchmarks: a throwaway PostgreSQL schema."""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager

import psycopg


@contextmanager
def temp_schema(prefix: str, keep: bool = False):
    """A URL whose search_path is a fresh schema in $DATABASE_URL's database; dropped afterwards."""
    base = os.environ.get("DATABASE_URL", "postgresql://127.0.0.1:5432/test")
    schema = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        if not keep:
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")
