"""The daily tables' rows worked out in Python from rows of ``file_downloads`` (not by the SQL that makes
them), and how a daily table differs from them: for the tests of every path that keeps or writes them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Any

from linehaul.analysis.dimensions import MIRROR_INSTALLERS
from linehaul.daily.shape import DOWNLOADS, WITHOUT_MIRRORS, DailyTable
from tests.analysis.questions import VALUES

Row = Mapping[str, Any]

READ: dict[str, Callable[[Any], Any]] = {
    **VALUES,
    "version": lambda row: (row.get("file") or {}).get("version"),
    "file_type": lambda row: (row.get("file") or {}).get("type"),
    "implementation": lambda row: ((row.get("details") or {}).get("implementation") or {}).get("name"),
    "country": lambda row: row.get("country_code"),
}
"""A row's value of each field, read in Python (the fields of tests/analysis/questions.py, and more)."""


def expected_rows(table: DailyTable, rows: Iterable[Row]) -> dict[tuple[Any, ...], tuple[int, int]]:
    """``table``'s rows made from ``rows``: (day, project[, value]) -> (downloads, without mirrors)."""
    counts: Counter[tuple[Any, ...]] = Counter()
    mirrors: Counter[tuple[Any, ...]] = Counter()
    for row in rows:
        day = date.fromisoformat(str(row["timestamp"])[:10])
        key = (day, row["project"], *((READ[table.field](row),) if table.field else ()))
        counts[key] += 1
        mirrors[key] += READ["installer"](row) in MIRROR_INSTALLERS
    return {key: (count, count - mirrors[key]) for key, count in counts.items()}


def differences(table: DailyTable, rows: Iterable[Row], daily: Iterable[Row]) -> list[str]:
    """How ``daily`` (the rows of ``table``, as dicts) differs from ``table``'s rows made from ``rows``:
    each key missing, extra, counted otherwise, or twice; empty when they are the same."""
    expected = expected_rows(table, rows)
    found: dict[tuple[Any, ...], tuple[int, int]] = {}
    problems = []
    for row in daily:
        key = tuple(row[column] for column in table.keys)
        if key in found:
            problems.append(f"{table.name} {key}: two rows")
        found[key] = (int(row[DOWNLOADS]), int(row[WITHOUT_MIRRORS]))
    keys = sorted(set(expected) | set(found), key=repr)
    problems += [
        f"{table.name} {key}: {found.get(key)} instead of {expected.get(key)}"
        for key in keys
        if expected.get(key) != found.get(key)
    ]
    return problems
