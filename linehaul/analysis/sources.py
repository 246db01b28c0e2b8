"""Reading many log files: paths, globs and stdin, giving rows or events, with counts of every line.

:func:`expand_paths` turns what a person types into the files to read; :func:`read_rows` and
:func:`read_events` give what those files hold, one item at a time (memory stays flat), as a
:class:`LogReading`: iterate it, then ask its :attr:`~LogReading.counts` how many lines were read, how many
became rows of each table, how many were unprocessed (not valid events) and how many ignored (bots, monitors).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from linehaul.convert import Converter
from linehaul.errors import INTERNAL, LineError
from linehaul.events import Event, Ignored, parse_line
from linehaul.logs.blocks import convert_block
from linehaul.logs.counts import ReadCounts
from linehaul.logs.files import LogFileError, read_blocks
from linehaul.logs.paths import expand_paths
from linehaul.rows import table_for
from linehaul.tables import Table

__all__ = ["LogReading", "ReadCounts", "expand_paths", "read_events", "read_rows"]

Item = TypeVar("Item")


class LogReading(Generic[Item]):
    """What some log files hold, one item at a time, counting every line as it goes.

    Each iteration reads the files again from the start (stdin can be read once). A file that is
    missing or cannot be read to its end raises :class:`~linehaul.logs.files.LogFileError` once the items
    read before the damage were given out; with ``keep_going=True`` it is recorded in :attr:`failures`
    instead and the next file is read.
    """

    def __init__(
        self,
        paths: list[str],
        read_file: Callable[[str, Converter, _Tally], Iterator[Item]],
        *,
        keep_going: bool = False,
    ) -> None:
        self.paths = tuple(paths)
        self._read_file, self._keep_going = read_file, keep_going
        self._tally = _Tally()
        self._failures: list[LogFileError] = []

    def __iter__(self) -> Iterator[Item]:
        self._tally, self._failures = _Tally(), []
        converter = Converter()
        for path in self.paths:
            self._tally.counts += ReadCounts(files=1)
            try:
                yield from self._read_file(path, converter, self._tally)
            except LogFileError as failure:
                if not self._keep_going:
                    raise
                self._failures.append(failure)

    @property
    def counts(self) -> ReadCounts:
        """Counts of what was read so far (all of it once the iteration is over)."""
        return self._tally.counts

    @property
    def failures(self) -> tuple[LogFileError, ...]:
        """Files that could not be read to their end (with ``keep_going=True``)."""
        return tuple(self._failures)


class _Tally:
    """The counts of a reading in progress (a frozen value, replaced as lines are read)."""

    def __init__(self) -> None:
        self.counts = ReadCounts()


def _keep_rows(table: Table, rows: list[str]) -> list[str]:
    del table
    return rows


def read_rows(
    patterns: Iterable[str | os.PathLike[str]],
    table: Table = Table.FILE_DOWNLOADS,
    *,
    keep_going: bool = False,
) -> LogReading[dict[str, Any]]:
    """The rows of ``table`` in log files (see :func:`expand_paths`), as dicts shaped like ``schemas/``.

    Rows come in input order; the counts cover every line, the other table's rows included.
    """

    def read_file(path: str, converter: Converter, tally: _Tally) -> Iterator[dict[str, Any]]:
        for block in read_blocks(path):
            result = convert_block(converter, path, block, _keep_rows)
            tally.counts += result.counts
            for row in result.rows(table):
                yield json.loads(row)

    return LogReading(expand_paths(patterns), read_file, keep_going=keep_going)


def read_events(patterns: Iterable[str | os.PathLike[str]], *, keep_going: bool = False) -> LogReading[Event]:
    """The events in log files (see :func:`expand_paths`): ``Download`` and ``SimpleRequest`` objects,
    in input order, by way of :func:`linehaul.parse_line` (slower than :func:`read_rows`, richer)."""

    def read_file(path: str, converter: Converter, tally: _Tally) -> Iterator[Event]:
        del converter  # events come from parse_line itself
        for block in read_blocks(path):
            lines = (block[:-1] if block.endswith(b"\n") else block).split(b"\n")
            unprocessed = ignored = internal = 0
            events: list[Event] = []
            for line in lines:
                try:
                    outcome = parse_line(line)
                except LineError as error:
                    unprocessed += 1
                    internal += error.field == INTERNAL
                    continue
                if isinstance(outcome, Ignored):
                    ignored += 1
                else:
                    events.append(outcome)
            downloads = sum(1 for event in events if table_for(event) is Table.FILE_DOWNLOADS)
            tally.counts += ReadCounts(
                lines=len(lines),
                file_downloads=downloads,
                simple_requests=len(events) - downloads,
                unprocessed=unprocessed,
                ignored=ignored,
                internal_errors=internal,
            )
            yield from events

    return LogReading(expand_paths(patterns), read_file, keep_going=keep_going)
