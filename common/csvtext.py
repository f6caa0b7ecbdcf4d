"""CSV for people who open it in a spreadsheet: a cell that would start a formula is kept as text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """OWASP's advice for CSV injection: text beginning with = + - @, a tab or a carriage return
    gets a leading apostrophe, so a name like "=HYPERLINK(...)" is shown, never run. Numbers stay
    numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return buf.getvalue()
