"""Printing results for people (aligned tables) and for programs (JSON, CSV)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

__all__ = ["flat_rows", "json_value", "render_csv", "render_markdown", "render_table", "text_value"]

_MAX_CELL = 60


def json_value(value: Any) -> Any:
    """``value`` as JSON can hold it: times and dates as ISO text, decimals as numbers, records as objects."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return value


def text_value(value: Any, none: str = "NULL") -> str:
    """``value`` as a table cell: NULL for None, true/false, records and lists as JSON."""
    if value is None:
        return none
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(json_value(value), ensure_ascii=False)
    return str(value)


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _numeric_columns(count: int, rows: Sequence[Sequence[Any]]) -> list[bool]:
    """For each of ``count`` columns: whether every value in it is a number (or None), so right-aligned."""
    return [bool(rows) and all(_numeric(row[index]) or row[index] is None for row in rows)
            for index in range(count)]  # fmt: skip


def render_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    none: str = "NULL",
    footer: Sequence[Any] | None = None,
    right: Sequence[bool] | None = None,
) -> str:
    """An aligned text table: a header, a rule, the rows, and a ``footer`` row under another rule.

    Columns of numbers are right-aligned (``right`` says so for each column instead); long cells are cut.
    """
    cells = [[text_value(value, none) for value in row] for row in [*rows, *([footer] if footer else [])]]
    cells = [
        [cell if len(cell) <= _MAX_CELL else cell[: _MAX_CELL - 1] + "…" for cell in row] for row in cells
    ]
    widths = [max([len(name), *(len(row[index]) for row in cells)]) for index, name in enumerate(columns)]
    if right is None:
        right = _numeric_columns(len(columns), rows)

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            value.rjust(width) if align else value.ljust(width)
            for value, width, align in zip(values, widths, right, strict=True)
        ).rstrip()

    rule = line(["-" * width for width in widths])
    body = [line(row) for row in cells]
    if footer:
        body.insert(len(body) - 1, rule)
    return "\n".join([line(columns), rule, *body])


def render_markdown(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    none: str = "NULL",
    footer: Sequence[Any] | None = None,
    right: Sequence[bool] | None = None,
) -> str:
    """A Markdown (GitHub) table: numbers right-aligned, ``|`` in cells escaped, the footer in bold."""
    if right is None:
        right = _numeric_columns(len(columns), rows)

    def line(values: Sequence[Any], bold: bool = False) -> str:
        cells = [text_value(value, none).replace("|", "\\|") for value in values]
        return "| " + " | ".join(f"**{cell}**" if bold and cell else cell for cell in cells) + " |"

    rule = "|" + "|".join("---:" if align else "---" for align in right) + "|"
    body = [line(row) for row in rows] + ([line(footer, bold=True)] if footer else [])
    return "\n".join([line(columns), rule, *body])


def render_csv(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """CSV with a header: NULL is an empty cell, records and lists are JSON."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if value is None else text_value(value) for value in row])
    return out.getvalue()


def flat_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> tuple[list[str], list[list[Any]]]:
    """Records as a column per field, named with dots (``details.installer.name``), as the CSV that
    DuckDB writes for linehaul query; the fields are those the rows hold, in the order they come."""
    paths: dict[str, list[tuple[str, ...]]] = {column: [] for column in columns}

    def walk(column: str, value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(column, item, (*path, str(key)))
        elif path not in paths[column]:
            paths[column].append(path)

    for row in rows:
        for column, value in zip(columns, row, strict=True):
            walk(column, value, ())
    for column, found in paths.items():  # a record that is NULL in one row is not a field of its own
        paths[column] = [
            path for path in found if not any(other[: len(path)] == path != other for other in found)
        ]

    def pick(value: Any, path: tuple[str, ...]) -> Any:
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        return value

    names = [".".join((column, *path)) for column in columns for path in paths[column] or [()]]
    flat = [
        [
            pick(value, path)
            for column, value in zip(columns, row, strict=True)
            for path in paths[column] or [()]
        ]
        for row in rows
    ]
    return names, flat
