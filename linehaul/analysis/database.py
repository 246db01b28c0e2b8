"""SQL over log files: an embedded DuckDB database (in memory, no server) with two views.

:func:`open_database` converts log files to Parquet in a temporary directory (streamed: memory stays
flat however big the logs) and opens DuckDB with the views ``file_downloads`` and ``simple_requests``
over them: the columns of ``schemas/*.json``, nested RECORDs as STRUCTs (``details.installer.name``),
``timestamp`` a TIMESTAMPTZ, and the session time zone UTC, so ``CAST(timestamp AS DATE)`` is the UTC day.
:meth:`Database.from_parquet` opens the same views over the Parquet files of ``linehaul parse --format
parquet``. Results come back as a :class:`QueryResult` (by way of Arrow, so timestamps are aware
datetimes in UTC); :attr:`Database.connection` is DuckDB's own connection for anything else.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from linehaul.analysis.errors import MissingExtraError, QueryError
from linehaul.analysis.parquet import Progress, parquet_path, write_parquet
from linehaul.logs.counts import ReadCounts
from linehaul.logs.files import LogFileError
from linehaul.tables import Table

try:
    import duckdb
except ImportError as error:  # pragma: no cover - the analysis extra is part of dev
    raise MissingExtraError("duckdb") from error

__all__ = ["Database", "QueryResult", "open_database"]


@dataclass(frozen=True, slots=True)
class QueryResult:
    """The result of a query: column names, their types (Arrow's names) and the rows, in order."""

    columns: tuple[str, ...]
    types: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def records(self) -> list[dict[str, Any]]:
        """The rows as dicts of column name → value."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Database:
    """An in-memory DuckDB database with views ``file_downloads`` and ``simple_requests`` over Parquet.

    Use it as a context manager (or call :meth:`close`): closing it removes the temporary Parquet files
    that :meth:`from_logs` wrote. ``counts`` and ``failures`` tell what was read from the logs.
    """

    def __init__(
        self,
        parquet: Mapping[Table, Sequence[str | os.PathLike[str]]],
        *,
        counts: ReadCounts | None = None,
        failures: Sequence[LogFileError] = (),
        workdir: tempfile.TemporaryDirectory[str] | None = None,
    ) -> None:
        missing = [table.value for table in Table if table not in parquet]
        if missing:
            raise ValueError(f"no Parquet files given for {', '.join(missing)}")
        self.counts = counts if counts is not None else ReadCounts()
        self.failures = tuple(failures)
        self._workdir = workdir
        self.connection = duckdb.connect(":memory:")
        self.connection.execute("SET TimeZone = 'UTC'")
        for table in Table:
            files = ", ".join(_sql_text(os.fspath(path)) for path in parquet[table])
            self.connection.execute(f"CREATE VIEW {table.value} AS SELECT * FROM read_parquet([{files}])")

    @classmethod
    def from_logs(
        cls,
        patterns: Iterable[str | os.PathLike[str]],
        *,
        jobs: int = 1,
        keep_going: bool = False,
        progress: Progress | None = None,
    ) -> Database:
        """Read log files (paths, globs, ``-``) into temporary Parquet files and open the views on them.

        Raises :class:`~linehaul.logs.files.LogFileError` for a file that is missing or cannot be read to
        its end; with ``keep_going=True`` such files are listed in :attr:`failures` instead.
        """
        workdir = tempfile.TemporaryDirectory(prefix="linehaul-db-")
        try:
            output = write_parquet(
                patterns, workdir.name, jobs=jobs, keep_going=keep_going, progress=progress
            )
        except BaseException:
            workdir.cleanup()
            raise
        files = {
            Table.FILE_DOWNLOADS: [output.file_downloads],
            Table.SIMPLE_REQUESTS: [output.simple_requests],
        }
        return cls(files, counts=output.counts, failures=output.failures, workdir=workdir)

    @classmethod
    def from_parquet(cls, directories: Iterable[str | os.PathLike[str]]) -> Database:
        """Open the views over ``file_downloads.parquet`` and ``simple_requests.parquet`` in each directory
        (as ``linehaul parse --format parquet`` writes them)."""
        files: dict[Table, list[Path]] = {table: [] for table in Table}
        for directory in map(Path, directories):
            for table in Table:
                path = parquet_path(directory, table)
                if not path.is_file():
                    raise LogFileError(
                        str(path), "no such file (write it with linehaul parse --format parquet)"
                    )
                files[table].append(path)
        return cls(files)

    def query(self, sql: str, parameters: Sequence[object] | None = None) -> QueryResult:
        """Run ``sql`` (``?`` placeholders take ``parameters``); :class:`QueryError` has DuckDB's message."""
        try:
            relation = self.connection.sql(sql, params=parameters)
            if relation is None:  # a statement with no result, on DuckDB versions that return none
                return QueryResult((), (), ())
            table = relation.to_arrow_table()
        except duckdb.Error as error:
            raise QueryError(str(error)) from None
        columns = [column.to_pylist() for column in table.columns]
        return QueryResult(
            columns=tuple(table.column_names),
            types=tuple(str(field.type) for field in table.schema),
            rows=tuple(zip(*columns, strict=True)) if columns else (),
        )

    def close(self) -> None:
        """Close the connection and remove the temporary Parquet files, if any."""
        self.connection.close()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


def open_database(
    patterns: Iterable[str | os.PathLike[str]],
    *,
    jobs: int = 1,
    keep_going: bool = False,
    progress: Progress | None = None,
) -> Database:
    """:meth:`Database.from_logs`: an embedded DuckDB database with views over the rows of log files."""
    return Database.from_logs(patterns, jobs=jobs, keep_going=keep_going, progress=progress)
