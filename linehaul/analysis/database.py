"""SQL over log files and rows: an embedded DuckDB database (in memory, no server) with two views.

:func:`open_database` reads what it is given (see :mod:`linehaul.analysis.inputs`: log files, the Parquet
output of ``linehaul parse --format parquet``, NDJSON row files), converts logs and NDJSON rows to Parquet
in a temporary directory (streamed: memory stays flat however big the logs) and opens DuckDB with the
views ``file_downloads`` and ``simple_requests`` over all of it: the columns of ``schemas/*.json``, nested
RECORDs as STRUCTs (``details.installer.name``), ``timestamp`` a TIMESTAMPTZ, and the session time zone
UTC, so ``CAST(timestamp AS DATE)`` is the UTC day. A table that no input has rows of is an empty view.

:meth:`Database.query` runs SQL typed by a person (a :class:`QueryResult`, by way of Arrow, so
timestamps are aware datetimes in UTC); :meth:`Database.run` runs linehaul's own queries (an
:class:`~linehaul.analysis.engine.Engine`, without Arrow: reading Parquet output needs only DuckDB).
:attr:`Database.connection` is DuckDB's own connection for anything else.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from packaging.utils import canonicalize_name

from linehaul.analysis.dimensions import DUCKDB, Dialect
from linehaul.analysis.engine import DataSpan, SqlQuery
from linehaul.analysis.errors import MissingExtraError, QueryError
from linehaul.analysis.inputs import Input, InputKind, expand_inputs, table_of_columns
from linehaul.analysis.overlaps import Duplicate, distinct_inputs, refuse_rows_of_logs
from linehaul.analysis.selection import TimeWindow
from linehaul.logs.counts import ReadCounts
from linehaul.logs.files import STDIN, LogFileError
from linehaul.logs.narrow import ProjectLines
from linehaul.schema import Column, column_type, load_schema
from linehaul.tables import Table

try:
    import duckdb
except ImportError as error:  # pragma: no cover - the analysis extra is part of dev
    raise MissingExtraError("duckdb") from error

__all__ = ["Database", "QueryResult", "open_database"]

Progress = Any  # linehaul.analysis.parquet.Progress: imported with pyarrow, when logs are read


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


_DUCKDB_TYPES = {
    "STRING": "VARCHAR",
    "BOOLEAN": "BOOLEAN",
    "INTEGER": "BIGINT",
    "FLOAT": "DOUBLE",
    "TIMESTAMP": "TIMESTAMPTZ",
}


def _duckdb_type(column: Column) -> str:
    if column_type(column) == "RECORD":
        return (
            "STRUCT("
            + ", ".join(f'"{child["name"]}" {_duckdb_type(child)}' for child in column["fields"])
            + ")"
        )
    return _DUCKDB_TYPES[column_type(column)]


def _empty_view(table: Table) -> str:
    """SELECT of no row with the table's columns (for a table that no input has rows of)."""
    columns = ", ".join(
        f'CAST(NULL AS {_duckdb_type(column)}) AS "{column["name"]}"' for column in load_schema(table)
    )
    return f"SELECT {columns} WHERE FALSE"


def _connect() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(":memory:")
    connection.execute("SET TimeZone = 'UTC'")
    return connection


def _parquet_table(connection: duckdb.DuckDBPyConnection, path: str) -> Table:
    """The table whose rows the Parquet file holds, from its columns (its footer: nothing else is read)."""
    try:
        described = connection.execute("DESCRIBE SELECT * FROM read_parquet(?)", [path]).fetchall()
    except duckdb.Error as error:
        raise LogFileError(path, f"unreadable Parquet: {error}") from None
    return table_of_columns(path, (row[0] for row in described))


class Database:
    """An in-memory DuckDB database with views ``file_downloads`` and ``simple_requests`` over Parquet.

    Use it as a context manager (or call :meth:`close`): closing it removes the temporary Parquet files
    it wrote. ``counts`` and ``failures`` tell what was read from logs, ``inputs`` what each input held,
    ``duplicates`` the inputs left out because another holds the same (:mod:`~linehaul.analysis.overlaps`).
    """

    dialect: Dialect = DUCKDB
    default_window = TimeWindow()

    def __init__(
        self,
        parquet: Mapping[Table, Sequence[str | os.PathLike[str]]],
        *,
        counts: ReadCounts | None = None,
        failures: Sequence[LogFileError] = (),
        workdir: tempfile.TemporaryDirectory[str] | None = None,
        inputs: Sequence[Input] = (),
        connection: duckdb.DuckDBPyConnection | None = None,
        whole: Callable[[], Database] | None = None,
        log_span: tuple[datetime, datetime] | None = None,
        duplicates: Sequence[Duplicate] = (),
    ) -> None:
        self.counts = counts if counts is not None else ReadCounts()
        self._whole = whole
        self._whole_database: Database | None = None
        self._log_span = log_span
        self._spans: dict[Table, DataSpan | None] = {}
        self.failures = tuple(failures)
        self.duplicates = tuple(duplicates)
        self.inputs = tuple(inputs)
        self._workdir = workdir
        self.connection = _connect() if connection is None else connection
        for table in Table:
            files = [os.fspath(path) for path in parquet.get(table, ())]
            source = (
                f"SELECT * FROM read_parquet([{', '.join(map(_sql_text, files))}], union_by_name = true)"
                if files
                else _empty_view(table)
            )
            self.connection.execute(f"CREATE VIEW {table.value} AS {source}")

    @classmethod
    def from_inputs(
        cls,
        patterns: Iterable[str | os.PathLike[str]],
        *,
        jobs: int = 1,
        keep_going: bool = False,
        progress: Progress | None = None,
        projects: Sequence[str] = (),
    ) -> Database:
        """Read logs, Parquet and NDJSON rows (see :mod:`linehaul.analysis.inputs`) and open the views.

        Every input is looked at before any is read: :class:`~linehaul.logs.files.LogFileError` names one
        that is missing, or holds neither rows nor log lines. An input that is the same file, the same bytes
        or the same log lines as another is read once (:attr:`duplicates`); rows written from a log given
        beside them are refused (:class:`~linehaul.analysis.overlaps.OverlapError`). A log that cannot be
        read to its end raises LogFileError too; with ``keep_going=True`` such logs are listed in
        :attr:`failures` instead.

        With ``projects`` (for questions about them alone, whose SQL looks at no other row), the logs give
        only those projects' rows, and only the lines that may hold them are converted, which is much
        faster (:func:`~linehaul.analysis.write_parquet`); :meth:`data_span` still tells the days of every
        row. The logs give all their rows when no line can be left out (a name that is not a project
        name: :meth:`linehaul.logs.narrow.ProjectLines.of`), or from standard input (read only once).
        """
        patterns = list(patterns)
        inputs, duplicates = distinct_inputs([Input.of(path) for path in expand_inputs(patterns)])
        files: dict[Table, list[str]] = {table: [] for table in Table}
        given: dict[str, tuple[str, Table]] = {}  # each rows file as given → its Parquet file, its table
        connection = _connect()  # one: each DuckDB connection to :memory: is a new database, not cheap
        try:
            for item in inputs:
                if item.kind is InputKind.PARQUET:
                    table = _parquet_table(connection, item.path)
                    files[table].append(item.path)
                    given[item.path] = (item.path, table)
        except BaseException:
            connection.close()
            raise
        logs = [item.path for item in inputs if item.kind is InputKind.LOG]
        rows = [(item.path, item.table) for item in inputs if item.kind is InputKind.ROWS and item.table]
        if STDIN in logs or ProjectLines.of(map(canonicalize_name, projects)) is None:  # stdin: read once
            projects = ()
        if not logs and not rows:
            return cls(files, inputs=inputs, connection=connection, duplicates=duplicates)
        workdir = tempfile.TemporaryDirectory(prefix="linehaul-db-")
        try:
            counts, failures = ReadCounts(), tuple[LogFileError, ...]()
            log_span: tuple[datetime, datetime] | None = None
            if rows:
                from linehaul.analysis.rowfiles import write_row_files

                for path, parquet, table in write_row_files(rows, workdir.name):
                    files[table].append(parquet)
                    given[path] = (parquet, table)
            if logs and given:  # before the logs are read, which takes the longest
                refuse_rows_of_logs(connection, logs, given)
            if logs:
                from linehaul.analysis.parquet import write_parquet

                output = write_parquet(
                    logs, workdir.name, jobs=jobs, keep_going=keep_going, progress=progress, projects=projects
                )
                counts, failures, log_span = output.counts, output.failures, output.span
                files[Table.FILE_DOWNLOADS].insert(0, str(output.file_downloads))
                files[Table.SIMPLE_REQUESTS].insert(0, str(output.simple_requests))
        except BaseException:
            workdir.cleanup()
            connection.close()
            raise
        whole = (lambda: cls.from_inputs(patterns, jobs=jobs, keep_going=True)) if logs and projects else None
        return cls(
            files,
            counts=counts,
            failures=failures,
            workdir=workdir,
            inputs=inputs,
            connection=connection,
            whole=whole,
            log_span=log_span,
            duplicates=duplicates,
        )

    @classmethod
    def from_logs(
        cls,
        patterns: Iterable[str | os.PathLike[str]],
        *,
        jobs: int = 1,
        keep_going: bool = False,
        progress: Progress | None = None,
    ) -> Database:
        """Read log files (paths, globs, ``-``) into temporary Parquet files and open the views on them:
        :meth:`from_inputs`, which reads rows files too."""
        return cls.from_inputs(patterns, jobs=jobs, keep_going=keep_going, progress=progress)

    @classmethod
    def from_parquet(cls, directories: Iterable[str | os.PathLike[str]]) -> Database:
        """Open the views over ``file_downloads.parquet`` and ``simple_requests.parquet`` in each directory
        (as ``linehaul parse --format parquet`` writes them)."""
        files: dict[Table, list[Path]] = {table: [] for table in Table}
        for directory in map(Path, directories):
            for table in Table:
                path = directory / f"{table.value}.parquet"
                if not path.is_file():
                    raise LogFileError(
                        str(path), "no such file (write it with linehaul parse --format parquet)"
                    )
                files[table].append(path)
        return cls(files)

    # -- the Engine protocol: linehaul's own queries ------------------------------------------------

    def describe(self) -> str:
        """What was read: ``2 log files, 5,000 lines (25 unprocessed, 31 ignored) · 1 Parquet file``."""

        def files(number: int, what: str) -> str:
            return f"{number} {what} file{'' if number == 1 else 's'}"

        counts = self.counts
        logs = sum(item.kind is InputKind.LOG for item in self.inputs) if self.inputs else counts.files
        parts = []
        if logs:
            parts.append(
                f"{files(logs, 'log')}, {counts.lines:,} lines "
                f"({counts.unprocessed:,} unprocessed, {counts.ignored:,} ignored)"
            )
        for kind, what in ((InputKind.PARQUET, "Parquet"), (InputKind.ROWS, "NDJSON row")):
            number = sum(item.kind is kind for item in self.inputs)
            if number:
                parts.append(files(number, what))
        return " · ".join(parts) or "Parquet files"

    def table(self, table: Table) -> str:
        """The view of ``table``."""
        return table.value

    def run(self, query: SqlQuery) -> list[tuple[Any, ...]]:
        """The rows of one of linehaul's queries (named ``$parameters``), as plain Python values."""
        values = {
            parameter.name: list(parameter.value) if isinstance(parameter.value, tuple) else parameter.value
            for parameter in query.parameters
        }
        try:
            return self.connection.execute(query.text, values or None).fetchall()
        except duckdb.Error as error:
            raise QueryError(str(error)) from None

    def data_span(self, table: Table) -> DataSpan | None:
        """The first and last UTC day and moment of ``table``'s rows (None: no row); of a database of some
        projects' rows, those of every line of its logs (from the first and last line of each block read,
        :attr:`~linehaul.analysis.ParquetOutput.span`) and of every row of its other inputs."""
        if table in self._spans:
            return self._spans[table]
        view = self.table(table)
        start, end = self.run(SqlQuery(f"SELECT min(timestamp), max(timestamp) FROM {view}"))[0]
        if self._log_span is not None and self._whole is not None:
            start = self._log_span[0] if start is None else min(start, self._log_span[0])
            end = self._log_span[1] if end is None else max(end, self._log_span[1])
        span = None
        if start is not None and end is not None:
            start, end = start.astimezone(UTC), end.astimezone(UTC)
            span = DataSpan(start.date(), end.date(), start, end)
        self._spans[table] = span  # the views do not change
        return span

    def whole(self) -> Database:
        """The database of every row of its inputs: itself, or for a database of some projects' rows,
        one of all of them, read (the logs in full) the first time it is asked, closed with this one."""
        if self._whole is None:
            return self
        if self._whole_database is None:
            self._whole_database = self._whole()
        return self._whole_database

    # -- SQL typed by a person ----------------------------------------------------------------------

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

    def stream(self, sql: str, batch_rows: int = 10_000) -> Iterator[dict[str, Any]]:
        """The rows of ``sql`` as dicts of column name → value, fetched ``batch_rows`` at a time (memory
        stays bounded); :class:`QueryError` has DuckDB's message."""
        try:
            relation = self.connection.sql(sql)
            if relation is None:
                return
            # DuckDB 2 names it to_arrow_reader; 1.x, which the analysis extra allows, fetch_record_batch
            batches = getattr(relation, "to_arrow_reader", None) or relation.fetch_record_batch
            reader = batches(batch_rows)
            for batch in reader:
                yield from batch.to_pylist()
        except duckdb.Error as error:
            raise QueryError(str(error)) from None

    def close(self) -> None:
        """Close the connection and remove the temporary Parquet files, if any."""
        if self._whole_database is not None:
            self._whole_database.close()
            self._whole_database = None
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
    projects: Sequence[str] = (),
) -> Database:
    """:meth:`Database.from_inputs`: an embedded DuckDB database with views over the rows of log files,
    Parquet files and NDJSON row files (of logs, only the rows of ``projects``, if given)."""
    return Database.from_inputs(
        patterns, jobs=jobs, keep_going=keep_going, progress=progress, projects=projects
    )
