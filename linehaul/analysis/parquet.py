"""Writing rows to Parquet, streamed: memory stays flat however big the logs, and the bytes are stable.

:class:`ParquetTableWriter` takes Arrow tables of one linehaul table as they come (one per block of log)
and writes row groups of exactly ``row_group_rows`` rows (the last one smaller), zstd-compressed, with
the schema of :func:`~linehaul.analysis.arrow.arrow_schema`. Row groups depend only on the rows and
their order, not on how they arrived, so the file is the same byte for byte whatever ``--jobs`` was.

:func:`write_parquet` does the whole trip: log files → ``file_downloads.parquet`` and
``simple_requests.parquet`` in a directory, with the counts of what was read; for some projects only, it
converts just the lines that may hold their rows (:mod:`linehaul.logs.narrow`), which is much faster.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from types import TracebackType

from packaging.utils import canonicalize_name

from linehaul.analysis.arrow import ARROW, arrow_schema
from linehaul.analysis.errors import MissingExtraError
from linehaul.logs.counts import ReadCounts
from linehaul.logs.files import LogFileError
from linehaul.logs.narrow import ProjectLines
from linehaul.logs.parallel import convert_files
from linehaul.logs.paths import expand_paths
from linehaul.tables import Table

try:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
except ImportError as error:  # pragma: no cover - the analysis extra is part of dev
    raise MissingExtraError("pyarrow") from error

__all__ = ["ROW_GROUP_ROWS", "ParquetOutput", "ParquetTableWriter", "parquet_path", "write_parquet"]

ROW_GROUP_ROWS = 100_000
"""Rows per Parquet row group: large enough for good compression, small enough for flat memory."""

Progress = Callable[[int, int], None]
"""``progress(lines read so far, number of the file being read, from 1)``."""


def parquet_path(directory: str | os.PathLike[str], table: Table) -> Path:
    """``DIR/file_downloads.parquet``: where ``linehaul parse --format parquet`` writes a table."""
    return Path(directory, f"{table.value}.parquet")


class ParquetTableWriter:
    """Streams Arrow tables of ``table`` (``file_downloads`` or ``simple_requests``) into a Parquet file."""

    def __init__(
        self, path: str | os.PathLike[str], table: Table, *, row_group_rows: int = ROW_GROUP_ROWS
    ) -> None:
        self.path, self.schema = Path(path), arrow_schema(table)
        self._row_group_rows = row_group_rows
        self._writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self.rows_written = 0

    def write(self, rows: pa.Table) -> None:
        """Add rows (with this table's schema); full row groups are written at once."""
        if not rows.schema.equals(self.schema):
            raise ValueError(f"{self.path.name}: rows have schema\n{rows.schema}\nnot\n{self.schema}")
        if rows.num_rows:
            self._pending.append(rows)
            self._pending_rows += rows.num_rows
        while self._pending_rows >= self._row_group_rows:
            self._flush(self._row_group_rows)

    def _flush(self, size: int) -> None:
        # one contiguous table per row group: the encoding then cannot depend on how rows were chunked
        pending = pa.concat_tables(self._pending).combine_chunks()
        self._writer.write_table(pending.slice(0, size), row_group_size=size)
        rest = pending.slice(size)
        self._pending, self._pending_rows = ([rest] if rest.num_rows else []), rest.num_rows
        self.rows_written += size

    def close(self) -> None:
        """Write the last, smaller row group and the file's footer."""
        if self._pending_rows:
            self._flush(self._pending_rows)
        self._writer.close()

    def __enter__(self) -> ParquetTableWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class ParquetOutput:
    """The Parquet file of each table, counts of what was read, files that could not be read, and the
    first and last time of the rows converted (None: no row), those left out for ``projects`` included."""

    file_downloads: Path
    simple_requests: Path
    counts: ReadCounts
    failures: tuple[LogFileError, ...] = ()
    span: tuple[datetime, datetime] | None = None


def write_parquet(
    patterns: Iterable[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str],
    *,
    jobs: int = 1,
    keep_going: bool = False,
    progress: Progress | None = None,
    projects: Sequence[str] = (),
) -> ParquetOutput:
    """Write the rows of log files (see :func:`~linehaul.analysis.expand_paths`) to
    ``output_dir/file_downloads.parquet`` and ``output_dir/simple_requests.parquet``.

    ``jobs`` processes convert blocks in parallel (the files are the same whatever ``jobs`` is). A file
    that cannot be read to its end raises :class:`~linehaul.logs.files.LogFileError` after its readable
    rows were written; with ``keep_going=True`` it is listed in :attr:`ParquetOutput.failures` instead.

    With ``projects`` (names in any spelling, as :class:`~linehaul.analysis.Selection` compares them),
    only their rows are written, and only the lines that may hold them are converted (every line, for a
    name that is not a project name): ``counts.lines`` then counts every line read, the rows counted are
    those written, and the unprocessed and ignored lines those of the lines converted, so that the counts
    no longer add up to the lines read. The lines converted then include the first and last of each
    block searched (:meth:`~linehaul.logs.narrow.ProjectLines.keep`), so that :attr:`ParquetOutput.span`
    still tells the time the logs cover.
    """
    paths = expand_paths(patterns)
    names: set[str] = {
        canonicalize_name(name) for name in ((projects,) if isinstance(projects, str) else projects)
    }
    narrow = ProjectLines.of(names)
    directory = Path(output_dir)
    directory.mkdir(parents=True, exist_ok=True)
    counts, failures = ReadCounts(files=len(paths)), list[LogFileError]()
    span: tuple[datetime, datetime] | None = None
    file_numbers = {path: number for number, path in enumerate(paths, 1)}
    with (
        ParquetTableWriter(parquet_path(directory, Table.FILE_DOWNLOADS), Table.FILE_DOWNLOADS) as downloads,
        ParquetTableWriter(parquet_path(directory, Table.SIMPLE_REQUESTS), Table.SIMPLE_REQUESTS) as simple,
    ):
        for item in convert_files(paths, ARROW, jobs=jobs, narrow=narrow):
            if isinstance(item, LogFileError):
                if not keep_going:
                    raise item
                failures.append(item)
                continue
            for table in Table:
                span = _span(item.rows(table), span)
            rows = {
                table: _of_projects(item.rows(table), names) if names else item.rows(table) for table in Table
            }
            downloads.write(rows[Table.FILE_DOWNLOADS])
            simple.write(rows[Table.SIMPLE_REQUESTS])
            counts += replace(
                item.counts,
                file_downloads=rows[Table.FILE_DOWNLOADS].num_rows,
                simple_requests=rows[Table.SIMPLE_REQUESTS].num_rows,
            )
            if progress is not None:
                progress(counts.lines, file_numbers[item.path])
    return ParquetOutput(downloads.path, simple.path, counts, tuple(failures), span)


def _span(rows: pa.Table, span: tuple[datetime, datetime] | None) -> tuple[datetime, datetime] | None:
    """``span`` widened to the first and last ``timestamp`` of ``rows``."""
    if not rows.num_rows:
        return span
    extremes = pc.min_max(rows["timestamp"])
    first, last = extremes["min"].as_py(), extremes["max"].as_py()
    return (first, last) if span is None else (min(span[0], first), max(span[1], last))


def _of_projects(rows: pa.Table, names: set[str]) -> pa.Table:
    """The rows whose project, PEP 503-normalised (``packaging.utils.canonicalize_name``, on each
    distinct value), is one of ``names``."""
    projects = rows["project"]
    distinct: list[str | None] = pc.unique(projects).to_pylist()
    kept = [project for project in distinct if project is not None and canonicalize_name(project) in names]
    return rows.filter(pc.is_in(projects, value_set=pa.array(kept, pa.string())))
