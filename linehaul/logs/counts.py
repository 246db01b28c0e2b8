"""The one record of where a reading's lines went: every report of linehaul (``parse``, ``backfill``,
``local run``, an ingest, an analysis) counts with it and prints it with :meth:`ReadCounts.line`."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from linehaul.errors import INTERNAL

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
        internal = f" internal_errors={self.internal_errors}" if self.internal_errors else ""
        return (
            f"lines={self.lines} file_downloads={self.file_downloads} simple_requests={self.simple_requests} "
            f"unprocessed={self.unprocessed} ignored={self.ignored}{internal}"
        )

    def internal_errors_message(self) -> str | None:
        """What to say when linehaul failed on some lines (None when it did not)."""
        if not self.internal_errors:
            return None
        lines = "line" if self.internal_errors == 1 else "lines"
        return (
            f"linehaul failed on {self.internal_errors} {lines} (a bug, please report it): kept as "
            f"unprocessed, each with the field {INTERNAL!r} and a reason naming the error"
        )
