"""Inputs that would count the same rows twice: the same file given twice, a copy, or the rows of a log
given beside that log.

:func:`distinct_inputs` keeps one of inputs that are the same file (the same device and inode: a second
spelling, a link), that hold the same bytes (a copy under another name: files of equal size, hashed), or
the same log lines (a log and its gzip: when their first 64 KiB of lines are equal, their lines are
hashed whole); each left out is a :class:`Duplicate`, for a note.

:func:`refuse_rows_of_logs` refuses Parquet or NDJSON rows written from a log given beside it
(``linehaul stats big.log.gz pq``): the first rows of each log, converted, found one after the other,
whole and in order, in a rows file, are proof that the file holds that log's rows (``linehaul parse`` and
the ingestor write rows in the order of their lines). Neither reading can tell which rows to keep, so
the question is refused with :class:`OverlapError`, naming both.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from linehaul.analysis.inputs import Input, InputKind, head
from linehaul.logs.files import STDIN, LogFileError, read_blocks
from linehaul.schema import load_schema
from linehaul.tables import Table

__all__ = ["HEAD_ROWS", "Duplicate", "OverlapError", "distinct_inputs", "refuse_rows_of_logs"]

HEAD_ROWS = 8
"""Rows of a log's beginning looked for, in a row, in each rows file given beside it."""

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An input left out: ``path`` is ``why`` (``the same file``, ...) as ``original``, which is read."""

    path: str
    original: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}: {self.why} as {self.original}: read once"


class OverlapError(LogFileError):
    """Rows files that hold the rows of a log given too: each row would count twice."""


def _digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _lines_digest(path: str) -> str | None:
    """A digest of a log's lines (inflated), or None when it cannot be read to its end."""
    digest = hashlib.sha256()
    try:
        for block in read_blocks(path):
            digest.update(block)
    except LogFileError:
        return None
    return digest.hexdigest()


def _same(items: Sequence[Input], key: Any) -> dict[str, str]:
    """Each item whose ``key(item)`` an earlier one has (None: never the same), mapped to that earlier one."""
    first: dict[Any, str] = {}
    same: dict[str, str] = {}
    for item in items:
        value = key(item)
        if value is None:
            continue
        if value in first:
            same[item.path] = first[value]
        else:
            first[value] = item.path
    return same


def _groups(items: Iterable[Input], key: Any) -> list[list[Input]]:
    """The items that share ``key`` with another one, grouped (the others cannot be the same)."""
    groups: dict[Any, list[Input]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return [group for group in groups.values() if len(group) > 1]


def distinct_inputs(inputs: Sequence[Input]) -> tuple[list[Input], list[Duplicate]]:
    """``inputs`` with each file, each content and each log's lines once, in order (see the module doc);
    and those left out. Standard input is always kept."""
    files = [item for item in inputs if item.path != STDIN]
    stats = {item.path: os.stat(item.path) for item in files}
    found: dict[str, tuple[str, str]] = {}
    for path, original in _same(
        files, lambda item: (stats[item.path].st_dev, stats[item.path].st_ino)
    ).items():
        found[path] = (original, "the same file")
    left = [item for item in files if item.path not in found]
    for group in _groups(left, lambda item: stats[item.path].st_size):
        for path, original in _same(group, lambda item: _digest(item.path)).items():
            found[path] = (original, "the same bytes")
    logs = [item for item in left if item.kind is InputKind.LOG and item.path not in found]
    for group in _groups(logs, lambda item: head(item.path)):
        for path, original in _same(group, lambda item: _lines_digest(item.path)).items():
            found[path] = (original, "the same log lines")
    kept = [item for item in inputs if item.path not in found]
    return kept, [Duplicate(path, *found[path]) for path in (item.path for item in inputs) if path in found]


def _head_rows(path: str) -> dict[Table, list[str]]:
    """The first rows of each table in the log's first block (NDJSON), at most :data:`HEAD_ROWS`."""
    from linehaul.convert import Converter
    from linehaul.converted import Converted

    out = Converted()
    for block in read_blocks(path):
        Converter().convert_block(block, out)
        break
    return {Table.FILE_DOWNLOADS: out.downloads[:HEAD_ROWS], Table.SIMPLE_REQUESTS: out.simple[:HEAD_ROWS]}


def _holds_in_a_row(connection: Any, parquet: str, table: Table, rows: list[str]) -> bool:
    """Whether the Parquet file holds ``rows`` (NDJSON of ``table``), whole, one after the other."""
    from linehaul.analysis.arrow import ndjson_to_arrow

    head = ndjson_to_arrow(table, "".join(row + "\n" for row in rows).encode())
    head = head.append_column("position", [list(range(head.num_rows))])
    connection.register("linehaul_head", head)
    try:
        same = " AND ".join(
            f'held."{column["name"]}" IS NOT DISTINCT FROM head."{column["name"]}"'
            for column in load_schema(table)
        )
        found = connection.execute(
            "SELECT count(*) FROM (SELECT held.file_row_number - head.position AS start, count(*) AS n\n"
            "  FROM read_parquet(?, file_row_number = true) AS held JOIN linehaul_head AS head\n"
            "  ON held.timestamp = head.timestamp AND held.url = head.url\n"
            f"  WHERE {same}\n"
            "  GROUP BY start) WHERE n = ?",
            [parquet, head.num_rows],
        ).fetchall()
    finally:
        connection.unregister("linehaul_head")
    return bool(found[0][0])


def refuse_rows_of_logs(connection: Any, logs: Sequence[str], files: Mapping[str, tuple[str, Table]]) -> None:
    """:class:`OverlapError` when a rows file holds the rows of one of ``logs`` (see the module doc).

    ``files`` maps each rows file as given (Parquet, NDJSON) to the Parquet file that holds its rows and
    the table they are of; ``connection`` is a DuckDB connection that reads them."""
    for log in logs:
        if log == STDIN or not files:
            continue
        rows = _head_rows(log)
        for given, (parquet, table) in files.items():
            if rows[table] and _holds_in_a_row(connection, parquet, table, rows[table]):
                raise OverlapError(
                    given,
                    f"holds the rows of {log}, which is given too: each of them would count twice "
                    "(give the log or the rows written from it, not both)",
                )
