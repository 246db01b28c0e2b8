"""The words of linehaul: the two tables, and the outputs a log's lines go to. Defined here, used everywhere.

A :class:`Table` is one of the two BigQuery tables; it knows the event kind of its lines and the output
that holds its rows (its schema: :func:`linehaul.schema.load_schema`). An :class:`Output` is one of the five
places a line of a log ends: rows of either table, or the line kept verbatim (unprocessed, with its
reason in a separate output, or ignored). Code compares these values, never the strings they stand for.

>>> from linehaul.tables import Output, Table
>>> Table("file_downloads").output is Output.DOWNLOADS, Table.SIMPLE_REQUESTS.kind
(True, 'simple')
"""

from __future__ import annotations

import enum

__all__ = ["Output", "Table"]


class Table(enum.StrEnum):
    """A BigQuery table; its value is the table's name."""

    FILE_DOWNLOADS = "file_downloads"
    SIMPLE_REQUESTS = "simple_requests"

    @classmethod
    def of(cls, name: str) -> Table:
        """The table called ``name``; ValueError naming the valid ones otherwise."""
        try:
            return cls(name)
        except ValueError:
            valid = ", ".join(table.value for table in cls)
            raise ValueError(f"unknown table {name!r}: expected one of {valid}") from None

    @property
    def kind(self) -> str:
        """The event kind of its lines: ``download`` or ``simple``, the first field of a log line."""
        return _KINDS[self]

    @property
    def output(self) -> Output:
        """The output that holds its rows (and names its staged files)."""
        return _OUTPUTS[self]


class Output(enum.Enum):
    """Where a line of a log ends; the value is the output's word in staged names (``downloads-<log>``)."""

    DOWNLOADS = "downloads"
    """rows of ``file_downloads``"""
    SIMPLE = "simple"
    """rows of ``simple_requests``"""
    UNPROCESSED = "unprocessed"
    """lines that are not valid events, byte for byte"""
    REASONS = "reasons"
    """why each unprocessed line was rejected, one JSON record a line"""
    IGNORED = "ignored"
    """valid lines whose agent production drops (bots, monitors), byte for byte"""

    @property
    def table(self) -> Table | None:
        """The table whose rows this output holds, or None for kept lines."""
        return _TABLES.get(self)

    @classmethod
    def of_rows(cls) -> tuple[Output, Output]:
        """The two outputs of rows, in table order."""
        return (cls.DOWNLOADS, cls.SIMPLE)


_KINDS = {Table.FILE_DOWNLOADS: "download", Table.SIMPLE_REQUESTS: "simple"}
_OUTPUTS = {Table.FILE_DOWNLOADS: Output.DOWNLOADS, Table.SIMPLE_REQUESTS: Output.SIMPLE}
_TABLES = {output: table for table, output in _OUTPUTS.items()}
