"""What converting lines gives: :class:`Converted` (a block's rows per table and its kept lines), each
unprocessed line (not a valid event) as an :class:`UnprocessedLine` with its reason, and the reasons'
records.

A line linehaul itself failed on (a bug: no line should make the converter raise) is kept as unprocessed
with the field :data:`INTERNAL` and a reason naming the exception (:func:`internal_error`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from linehaul.errors import INTERNAL, LineError
from linehaul.tables import Table

__all__ = [
    "Checkpoint",
    "Converted",
    "UnprocessedLine",
    "reason_records",
    "without_frames",
]


@dataclass(frozen=True, slots=True)
class UnprocessedLine:
    """A line that is not a valid event: its ``number`` (from 1, in what one :class:`Converted` received),
    its bytes as read, and the :class:`LineError` that says why (its traceback dropped)."""

    number: int
    raw: bytes
    error: LineError

    @property
    def field(self) -> str:
        return self.error.field

    @property
    def reason(self) -> str:
        return self.error.reason

    @property
    def internal(self) -> bool:
        """Whether linehaul failed on the line (a bug), rather than the line being invalid."""
        return self.error.field == INTERNAL

    def reason_record(self, lines_before: int = 0, file: str | None = None) -> dict[str, Any]:
        """Why, as a record: ``{"file"?, "line", "field", "reason"}``; ``line`` counts from the start of
        the file (``lines_before`` were read before this block), ``file`` is given where one output holds
        the lines of several files."""
        record: dict[str, Any] = {} if file is None else {"file": file}
        record.update(line=lines_before + self.number, field=self.field, reason=self.reason)
        return record


def reason_records(
    unprocessed: Sequence[UnprocessedLine], lines_before: int = 0, file: str | None = None
) -> bytes:
    """The reasons NDJSON of unprocessed lines (one :meth:`UnprocessedLine.reason_record` a line)."""
    records = (json.dumps(line.reason_record(lines_before, file)) for line in unprocessed)
    return "".join(record + "\n" for record in records).encode()


@dataclass(slots=True)
class Converted:
    """What a block of lines became, in input order within each destination.

    ``downloads`` and ``simple`` are NDJSON lines (no newline); ``unprocessed`` holds each unprocessed line;
    ``earliest`` is the smallest row timestamp (RFC 3339 text, which sorts as time does).
    """

    lines: int = 0
    downloads: list[str] = field(default_factory=list)
    simple: list[str] = field(default_factory=list)
    unprocessed: list[UnprocessedLine] = field(default_factory=list)
    ignored: list[bytes] = field(default_factory=list)
    earliest: str | None = None

    def rows(self, table: Table) -> list[str]:
        """The NDJSON rows of ``table``."""
        return self.downloads if table is Table.FILE_DOWNLOADS else self.simple

    def absorb(self, later: Converted) -> None:
        """Take in what ``later`` holds: the outcome of the lines after these (it was made with
        ``Converted(lines=self.lines, earliest=self.earliest)``)."""
        self.lines = later.lines
        self.downloads += later.downloads
        self.simple += later.simple
        self.unprocessed += later.unprocessed
        self.ignored += later.ignored
        self.earliest = later.earliest

    @property
    def internal_errors(self) -> int:
        """How many lines linehaul failed on (kept as unprocessed: see :data:`INTERNAL`)."""
        return sum(1 for line in self.unprocessed if line.internal)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far a :class:`Converted` had got: what a conversion that raised is rolled back to."""

    lines: int
    downloads: int
    simple: int
    unprocessed: int
    ignored: int
    earliest: str | None

    @classmethod
    def of(cls, out: Converted) -> Checkpoint:
        return cls(
            out.lines,
            len(out.downloads),
            len(out.simple),
            len(out.unprocessed),
            len(out.ignored),
            out.earliest,
        )

    def restore(self, out: Converted) -> None:
        out.lines, out.earliest = self.lines, self.earliest
        del out.downloads[self.downloads :], out.simple[self.simple :]
        del out.unprocessed[self.unprocessed :], out.ignored[self.ignored :]


def without_frames(error: LineError) -> LineError:
    """``error`` with no traceback, nor any on the errors that caused it: a kept error would otherwise keep
    the frames of its raising, and through them this converter with all its caches, until the next full
    garbage collection (a new converter per log then piles up tens of megabytes per log)."""
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        link.__traceback__ = None
        link = link.__cause__ or link.__context__
    return error
