"""The official administrative units (đơn vị hành chính) and their national codes, as the
`vietnam-provinces` package ships them: 34 provinces and centrally run cities, each with its wards,
communes and special zones (phường, xã, đặc khu), the two levels in force since 1 July 2025.

Declarations and checkpoints keep the codes, so "Quận Thanh Xuân" and "Q. Thanh Xuân" are one
place; an older address (with the district it had before July 2025) is kept as the words written,
under its province's code."""

from __future__ import annotations

import unicodedata
from functools import cache

from vietnam_provinces import Province, Ward


def _sort_key(name: str) -> str:
    """Alphabetical as a Vietnamese reader expects it, near enough: without tone marks, đ as d."""
    plain = unicodedata.normalize("NFD", name.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in plain if not unicodedata.combining(c)).casefold()


def _bare(name: str, kind: str) -> str:
    """"Phường Hoàn Kiếm" → "Hoàn Kiếm"; "Thành phố Hà Nội" → "Hà Nội" (for sorting only)."""
    for prefix in (kind, "thành phố"):
        if name.casefold().startswith(prefix + " "):
            return name[len(prefix) + 1:]
    return name


@cache
def provinces() -> tuple[tuple[int, str], ...]:
    """Every province and city as (code, name), alphabetical."""
    every = Province.iter_all()
    return tuple((int(p.code), p.name) for p in sorted(every, key=lambda p: _sort_key(_bare(p.name, ""))))


@cache
def wards(province: int) -> tuple[tuple[int, str], ...]:
    """The province's wards, communes and special zones as (code, name), alphabetical; none for a
    code that is not a province."""
    if province_name(province) is None:
        return ()
    found = Ward.iter_by_province(province)  # type: ignore[arg-type]  # an IntEnum's value compares equal
    return tuple((int(w.code), w.name) for w in sorted(found, key=lambda w: _sort_key(_bare(w.name,
                                                                                       w.division_type.value))))


def province_name(code: int | None) -> str | None:
    try:
        return Province.from_code(code).name if code is not None else None  # type: ignore[arg-type]
    except ValueError:
        return None


def ward_of(code: int | None) -> tuple[str, int] | None:
    """A ward's name and its province's code; None for a code that is not a ward."""
    try:
        w = Ward.from_code(code) if code is not None else None  # type: ignore[arg-type]
    except ValueError:
        return None
    return (w.name, int(w.province_code)) if w is not None else None
