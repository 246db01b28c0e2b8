"""What an analysis command was given: CDN logs, Parquet rows, or NDJSON rows, told apart by content.

``stats``, ``query`` and ``report`` read, side by side, log files (``.log``, ``.log.gz``, stdin), the
Parquet files and folders ``linehaul parse --format parquet`` writes, and NDJSON row files shaped like
``schemas/`` (the ingestor's staged files, BigQuery exports; plain or gzip). :func:`expand_inputs` turns
what a person typed into files (a folder gives its table files); :meth:`Input.of` looks inside each one:
Parquet's magic bytes, or the first lines (a JSON object with a ``timestamp`` is a row; a line that
:func:`linehaul.parse_line` accepts is a log). A file that holds neither a row nor a log line is a
:class:`~linehaul.logs.files.LogFileError` that names it and says what it does hold, never an empty result.
"""

from __future__ import annotations

import enum
import gzip
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from linehaul.logs.files import STDIN, LogFileError
from linehaul.logs.paths import expand_paths
from linehaul.schema import load_schema
from linehaul.tables import Table

__all__ = ["Input", "InputKind", "expand_inputs", "head", "table_of_columns"]

_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_BYTES = 64 * 1024
_SHOWN = 60  # characters of a line quoted in a message


class InputKind(enum.Enum):
    """What a file holds."""

    LOG = "log"
    """CDN log lines, plain or gzip"""
    PARQUET = "parquet"
    """rows of one table, in Parquet (``linehaul parse --format parquet``)"""
    ROWS = "rows"
    """rows of one table as NDJSON (staged files, BigQuery exports), plain or gzip"""


@dataclass(frozen=True, slots=True)
class Input:
    """A file to read, what it holds, and for rows, the table they belong to."""

    path: str
    kind: InputKind
    table: Table | None = None

    @classmethod
    def of(cls, path: str) -> Input:
        """What ``path`` holds (see the module doc); LogFileError if it cannot be opened, is empty, or holds
        neither rows nor log lines (the message quotes its first line)."""
        return _input_of(path)


def _table_files(directory: Path) -> list[str]:
    files = []
    for table in Table:
        for suffix in (".parquet", ".ndjson"):  # parse writes one or the other; Parquet if both
            path = directory / f"{table.value}{suffix}"
            if path.is_file():
                files.append(str(path))
                break
    if not files:
        found = sorted(child.name for child in directory.iterdir())
        shown = ", ".join(found[:5]) + (", …" if len(found) > 5 else "") if found else "nothing"
        raise LogFileError(
            str(directory),
            "a folder without file_downloads or simple_requests .parquet or .ndjson (as linehaul parse "
            f"writes them); it holds {shown}",
        )
    return files


def expand_inputs(patterns: Iterable[str | os.PathLike[str]]) -> list[str]:
    """The files to read: a folder gives the table files that ``linehaul parse`` writes into one; other
    patterns as :func:`~linehaul.logs.paths.expand_paths` expands them. Each file once, in order."""
    paths: list[str] = []
    for pattern in (os.fspath(pattern) for pattern in patterns):
        found = _table_files(Path(pattern)) if os.path.isdir(pattern) else expand_paths([pattern])
        paths += [path for path in found if path not in paths]
    return paths


def table_of_columns(path: str, columns: Iterable[str]) -> Table:
    """The table whose columns are ``columns`` (its rows have a ``file`` column, or not); LogFileError
    naming ``path`` when they are no table's."""
    names = set(columns)
    for table in (Table.FILE_DOWNLOADS, Table.SIMPLE_REQUESTS):
        known = {column["name"] for column in load_schema(table)}
        if {"timestamp", "url"} <= names <= known and ("file" in names) == (table is Table.FILE_DOWNLOADS):
            return table
    shown = ", ".join(sorted(names)[:8]) + (", …" if len(names) > 8 else "")
    raise LogFileError(path, f"its columns are not those of file_downloads or simple_requests: {shown}")


def head(path: str) -> bytes | None:
    """The first bytes of the file's content (inflated if it is gzip); None for damaged gzip."""
    with open(path, "rb") as file:
        start = file.read(_SNIFF_BYTES)
    if not start.startswith(_GZIP_MAGIC):
        return start
    try:
        with gzip.open(path, "rb") as unpacked:
            return unpacked.read(_SNIFF_BYTES)
    except (OSError, EOFError):
        return None


def _quoted(line: bytes) -> str:
    text = line.decode("utf-8", "replace")
    return repr(text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…")


def _rows_table(path: str, line: bytes) -> Table | None:
    try:
        row = json.loads(line)
    except ValueError:
        return None
    if not isinstance(row, dict):
        return None
    return table_of_columns(path, row)


def _input_of(path: str) -> Input:
    if path == STDIN:
        return Input(path, InputKind.LOG)
    try:
        with open(path, "rb") as file:
            magic = file.read(len(_PARQUET_MAGIC))
        if magic == _PARQUET_MAGIC:
            return Input(path, InputKind.PARQUET)  # its table is read from its schema when it is opened
        start = head(path)
    except OSError as error:
        raise LogFileError(path, error.strerror or str(error)) from None
    if start is None:  # damaged gzip: read as a log, whose reader names the damage
        return Input(path, InputKind.LOG)
    whole = start if len(start) < _SNIFF_BYTES else start[: start.rfind(b"\n") + 1]
    lines = [line for line in whole.split(b"\n") if line.strip()]
    if not lines:
        why = "empty" if not start else "only blank lines"
        raise LogFileError(path, f"{why}: no log line and no row in it")
    if lines[0].lstrip().startswith(b"{"):
        table = _rows_table(path, lines[0])
        if table is not None:
            return Input(path, InputKind.ROWS, table)
    from linehaul.errors import LineError
    from linehaul.events import parse_line

    for line in lines:
        try:
            parse_line(line)
        except LineError:
            continue
        return Input(path, InputKind.LOG)
    which = f"its {len(lines)}" if whole is start else f"its first {len(lines)}"
    raise LogFileError(
        path,
        f"no log line and no row in it: none of {which} lines is a download or simple line, nor a row "
        f"of JSON; the first is {_quoted(lines[0])}",
    )
