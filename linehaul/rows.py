"""Events as BigQuery rows: dicts shaped like ``schemas/*.json`` and their NDJSON text.

Rows carry every column of their table, ``None`` where there is no value, in the schema's column order:
:class:`RowFormat` is generated from a table's column list (see :mod:`linehaul._columns`), and the fast
converter (:mod:`linehaul.convert`) builds its row templates from the same :class:`RowFormat`, so the two
paths cannot drift apart. Timestamps are RFC 3339 in UTC (``2021-01-07T20:54:54Z``), which BigQuery and
the local emulator both load.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Any

from linehaul._columns import json_encoder, record_json_encoder, record_python_encoder
from linehaul._fields import timestamp_text
from linehaul.events import Download, Event
from linehaul.schema import Column, load_schema
from linehaul.tables import Table

__all__ = [
    "FORMATS",
    "RowFormat",
    "dumps_row",
    "table_for",
    "timestamp_text",
    "to_row",
]


class RowFormat:
    """The rows of ``table``, shaped by ``columns`` (default: the table's schema; another column list, for
    a change being tried, shapes both :meth:`to_row` and the converter's rows alike)."""

    def __init__(self, table: Table, columns: Sequence[Column] | None = None) -> None:
        self.table = table
        self.columns: tuple[Column, ...] = tuple(load_schema(table) if columns is None else columns)

    @cached_property
    def _row(self) -> Callable[[Event], dict[str, Any]]:
        return record_python_encoder(self.columns)  # compiled on first use: start-up stays quick

    @cached_property
    def _json(self) -> Callable[[Event], str]:
        return record_json_encoder(self.columns)

    def to_row(self, event: Event) -> dict[str, Any]:
        """The row of ``event``: a dict with every column, in order."""
        return self._row(event)

    def to_json(self, event: Event) -> str:
        """``dumps_row(self.to_row(event))``, written directly."""
        return self._json(event)

    def names(self) -> tuple[str, ...]:
        """The top-level column names, in order."""
        return tuple(str(column["name"]) for column in self.columns)

    def column(self, name: str) -> Column | None:
        """The top-level column called ``name``, if the table has one."""
        return next((column for column in self.columns if column["name"] == name), None)

    def json_encoders(self) -> dict[str, Callable[[Any], str]]:
        """Each top-level column's JSON encoder (value → JSON text), by name."""
        return {str(column["name"]): json_encoder(column) for column in self.columns}


FORMATS: Mapping[Table, RowFormat] = {table: RowFormat(table) for table in Table}
"""The row format of each table, from ``schemas/``."""


def table_for(event: Event) -> Table:
    """The table an event belongs to: ``Table.FILE_DOWNLOADS`` or ``Table.SIMPLE_REQUESTS``."""
    return Table.FILE_DOWNLOADS if isinstance(event, Download) else Table.SIMPLE_REQUESTS


def to_row(event: Event) -> dict[str, Any]:
    """The row of ``event`` for its table (see :func:`table_for`)."""
    return FORMATS[table_for(event)].to_row(event)


def dumps_row(row: dict[str, Any]) -> str:
    """One NDJSON line (without the newline): compact, UTF-8 text, keys in schema order."""
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))
