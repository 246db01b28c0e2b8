"""Reading many log files: paths, globs and stdin, giving rows or events, with counts of every line.

:func:`expand_paths` turns what a person types into the files to read; :func:`read_rows` and
:func:`read_events` give what those files hold, one item at a time (memory stays flat), as a
:class:`LogReading`: iterate it, then ask its :attr:`~LogReading.counts` how many lines were read, how many
became rows of each table, how many were rejected (``unprocessed``) and how many ignored (bots, monitors).
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any, Generic, TypeVar

from linehaul.convert import Converter
from linehaul.errors import LineError
from linehaul.events import Event, Ignored, parse_line
from linehaul.logfiles import LogFileError, read_blocks
from linehaul.parallel import BlockResult, convert_block
from linehaul.rows import FILE_DOWNLOADS, SIMPLE_REQUESTS, table_for
from linehaul.schema import TABLES

__all__ = ["LogReading", "ReadCounts", "expand_paths", "read_events", "read_rows"]

Item = TypeVar("Item")
_GLOB_CHARACTERS = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class ReadCounts:
    """How many files and lines were read, and where every line went (each goes to exactly one place)."""

    files: int = 0
    lines: int = 0
    file_downloads: int = 0
    simple_requests: int = 0
    unprocessed: int = 0
    ignored: int = 0

    def plus(self, **more: int) -> ReadCounts:
        """These counts with ``more`` added, field by field."""
        return ReadCounts(
            **{name.name: getattr(self, name.name) + more.get(name.name, 0) for name in fields(self)}
        )

    def plus_block(self, block: BlockResult[Any]) -> ReadCounts:
        """These counts with the lines of a converted block added."""
        return self.plus(
            lines=block.lines,
            file_downloads=block.download_count,
            simple_requests=block.simple_count,
            unprocessed=len(block.rejected),
            ignored=len(block.ignored),
        )


def expand_paths(patterns: Iterable[str | os.PathLike[str]]) -> list[str]:
    """The files to read, in order: a pattern with ``*``, ``?`` or ``[`` gives its matches, sorted
    (``**`` crosses directories); ``-`` is stdin; any other path is kept as it is. A file named twice
    is read once.

    Raises :class:`~linehaul.logfiles.LogFileError` naming a pattern that matches no file, a path that
    does not exist or is not a regular file, or ``-`` given twice: nothing is read before all are checked.
    """
    paths: list[str] = []
    for pattern in (os.fspath(pattern) for pattern in patterns):
        if pattern == "-":
            if "-" in paths:
                raise LogFileError("-", "stdin can be read only once")
            paths.append(pattern)
            continue
        if _GLOB_CHARACTERS.intersection(pattern) and not os.path.exists(pattern):
            matches = sorted(path for path in glob.glob(pattern, recursive=True) if os.path.isfile(path))
            if not matches:
                raise LogFileError(pattern, "no file matches this pattern")
        elif not os.path.exists(pattern):
            raise LogFileError(pattern, "no such file")
        elif not os.path.isfile(pattern):
            raise LogFileError(pattern, "not a regular file (a directory?)")
        else:
            matches = [pattern]
        paths += [path for path in matches if path not in paths]
    return paths


class LogReading(Generic[Item]):
    """What some log files hold, one item at a time, counting every line as it goes.

    Each iteration reads the files again from the start (stdin can be read once). A file that is
    missing or cannot be read to its end raises :class:`~linehaul.logfiles.LogFileError` once the items
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
            self._tally.counts = self._tally.counts.plus(files=1)
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


def _keep_rows(table: str, rows: list[str]) -> list[str]:
    del table
    return rows


def read_rows(
    patterns: Iterable[str | os.PathLike[str]], table: str = FILE_DOWNLOADS, *, keep_going: bool = False
) -> LogReading[dict[str, Any]]:
    """The rows of ``table`` in log files (see :func:`expand_paths`), as dicts shaped like ``schemas/``.

    Rows come in input order; the counts cover every line, the other table's rows included.
    """
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}: expected one of {', '.join(TABLES)}")
    wanted = "downloads" if table == FILE_DOWNLOADS else "simple"

    def read_file(path: str, converter: Converter, tally: _Tally) -> Iterator[dict[str, Any]]:
        for block in read_blocks(path):
            result = convert_block(converter, path, block, _keep_rows)
            tally.counts = tally.counts.plus_block(result)
            for row in getattr(result, wanted):
                yield json.loads(row)

    return LogReading(expand_paths(patterns), read_file, keep_going=keep_going)


def read_events(patterns: Iterable[str | os.PathLike[str]], *, keep_going: bool = False) -> LogReading[Event]:
    """The events in log files (see :func:`expand_paths`): ``Download`` and ``SimpleRequest`` objects,
    in input order, by way of :func:`linehaul.parse_line` (slower than :func:`read_rows`, richer)."""

    def read_file(path: str, converter: Converter, tally: _Tally) -> Iterator[Event]:
        del converter  # events come from parse_line itself
        for block in read_blocks(path):
            lines = (block[:-1] if block.endswith(b"\n") else block).split(b"\n")
            counts = dict.fromkeys(("unprocessed", "ignored", FILE_DOWNLOADS, SIMPLE_REQUESTS), 0)
            events: list[Event] = []
            for line in lines:
                try:
                    outcome = parse_line(line)
                except LineError:
                    counts["unprocessed"] += 1
                    continue
                if isinstance(outcome, Ignored):
                    counts["ignored"] += 1
                else:
                    counts[table_for(outcome)] += 1
                    events.append(outcome)
            tally.counts = tally.counts.plus(lines=len(lines), **counts)
            yield from events

    return LogReading(expand_paths(patterns), read_file, keep_going=keep_going)
