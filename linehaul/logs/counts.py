"""The one record of where a reading's lines went: every report of linehaul (``parse``, ``backfill``,
``local run``, an ingest, an analysis) counts with it and says it with :meth:`ReadCounts.line` (or, in a
sentence, :meth:`ReadCounts.in_words`). Its fields are the counts' names everywhere: the rows of a table
are counted under the table's name."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from linehaul.errors import INTERNAL
from linehaul.tables import Table

if TYPE_CHECKING:  # only a type here: programs that count (the analysis commands) need no converter
    from linehaul.converted import Converted

__all__ = ["ReadCounts"]


@dataclass(frozen=True, slots=True)
class ReadCounts:
    """How many files and lines were read, and where every line went (each goes to exactly one place)."""

    files: int = 0
    lines: int = 0
    file_downloads: int = 0
    simple_requests: int = 0
    unprocessed: int = 0
    ignored: int = 0
    internal_errors: int = 0
    """Of the unprocessed lines, those linehaul itself failed on: a bug to fix, never hidden."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The names of the counts, in order (``files`` first)."""
        return tuple(count.name for count in fields(cls))

    @classmethod
    def line_names(cls) -> tuple[str, ...]:
        """The counts of lines, in order: every name but ``files``."""
        return cls.names()[1:]

    def rows(self, table: Table) -> int:
        """The rows of ``table`` (counted under its name)."""
        count: int = getattr(self, table.value)
        return count

    def plus(self, **more: int) -> ReadCounts:
        """These counts with ``more`` added, field by field."""
        return ReadCounts(
            **{name.name: getattr(self, name.name) + more.get(name.name, 0) for name in fields(self)}
        )

    def __add__(self, other: ReadCounts) -> ReadCounts:
        return ReadCounts(
            **{name.name: getattr(self, name.name) + getattr(other, name.name) for name in fields(self)}
        )

    @classmethod
    def of(cls, converted: Converted) -> ReadCounts:
        """The counts of the lines of one converted block (no file counted)."""
        return cls(
            lines=converted.lines,
            file_downloads=len(converted.downloads),
            simple_requests=len(converted.simple),
            unprocessed=len(converted.unprocessed),
            ignored=len(converted.ignored),
            internal_errors=converted.internal_errors,
        )

    @property
    def settled(self) -> bool:
        """Every line read is counted in exactly one place."""
        return self.lines == self.file_downloads + self.simple_requests + self.unprocessed + self.ignored

    def line(self) -> str:
        """``lines=N file_downloads=A simple_requests=B unprocessed=C ignored=D``: how the commands say it
        (and `` internal_errors=E`` after it when linehaul failed on some lines)."""
        return " ".join(f"{name}={count}" for name, count in self._said())

    def in_words(self) -> str:
        """``N lines, A file_downloads, B simple_requests, C unprocessed, D ignored``: the counts in a
        sentence, as the ingestor's and a backfill's lines say them (internal errors are said apart)."""
        return ", ".join(f"{count} {name}" for name, count in self._said() if name != "internal_errors")

    def _said(self) -> list[tuple[str, int]]:
        """The counts of lines by name, in order, internal errors only when there are some."""
        counts = [(name, getattr(self, name)) for name in self.line_names()]
        return [(name, count) for name, count in counts if count or name != "internal_errors"]

    def internal_errors_message(self) -> str | None:
        """What to say when linehaul failed on some lines (None when it did not)."""
        if not self.internal_errors:
            return None
        lines = "line" if self.internal_errors == 1 else "lines"
        return (
            f"linehaul failed on {self.internal_errors} {lines} (a bug, please report it): kept as "
            f"unprocessed, each with the field {INTERNAL!r} and a reason naming the error"
        )
