"""What :func:`~linehaul.analysis.count_by` and the report need from a SQL engine, whichever it is.

Two engines answer the same questions: the embedded DuckDB :class:`~linehaul.analysis.Database` (over
log files, Parquet, NDJSON rows) and BigQuery (:class:`linehaul.gcp.queries.BigQueryEngine`, over the
dataset's tables). Both take a :class:`SqlQuery` (text in their :class:`~linehaul.analysis.dimensions.Dialect`
and named parameters beside it) and give rows back as tuples of plain Python values (str, int, bool,
date, aware datetime in UTC), so what is built on them prints the same whatever the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any, Protocol

from linehaul.analysis.dimensions import Dialect, Parameter, Parameters
from linehaul.analysis.selection import Selection, TimeWindow
from linehaul.tables import Table

__all__ = ["DataSpan", "Engine", "SqlQuery", "resolve_selection"]


@dataclass(frozen=True, slots=True)
class SqlQuery:
    """SQL text, the values of its named parameters, what it is for (shown by dry runs), and what it
    reads."""

    text: str
    parameters: tuple[Parameter, ...] = ()
    purpose: str = "query"
    reads: tuple[str, ...] = ()
    """The tables it reads, and which of their days, for people (``downloads_by_installer_daily for
    2026-11-01 to 2026-11-29``); empty when it does not say."""

    @classmethod
    def of(
        cls, text: str, parameters: Parameters, purpose: str = "query", reads: tuple[str, ...] = ()
    ) -> SqlQuery:
        return cls(text, tuple(parameters.values.values()), purpose, reads)


@dataclass(frozen=True, slots=True)
class DataSpan:
    """The first and the last UTC day that hold rows of a table; ``start`` and ``end`` are the first and
    the last moment the data covers where the engine knows them (DuckDB: its first and last row; BigQuery:
    the first partition's midnight, the end of the last, or now when that is today's), for telling the
    days the data holds in part. Two spans are equal when their days are."""

    first: date
    last: date
    start: datetime | None = field(default=None, compare=False)
    end: datetime | None = field(default=None, compare=False)


class Engine(Protocol):
    """A SQL engine that answers linehaul's questions (see the module doc)."""

    @property
    def dialect(self) -> Dialect:
        """The SQL dialect of its queries."""
        ...

    @property
    def default_window(self) -> TimeWindow:
        """The window of a question that names none (BigQuery: the last 30 days, so nothing scans all)."""
        ...

    def table(self, table: Table) -> str:
        """How its SQL names ``table`` (a view, or a quoted ``project.dataset.table``)."""
        ...

    def run(self, query: SqlQuery) -> Sequence[tuple[Any, ...]]:
        """The rows of ``query``; :class:`~linehaul.analysis.errors.QueryError` if it is refused."""
        ...

    def data_span(self, table: Table) -> DataSpan | None:
        """The days that hold rows of ``table`` (None: none); cheap (statistics, partition metadata)."""
        ...


def resolve_selection(engine: Engine, selection: Selection | None, table: Table) -> Selection:
    """The selection with a window of dates: the engine's default when it names none, and a number of
    days counted back from the last day of ``table`` in the engine."""
    selection = selection or Selection()
    window = engine.default_window if selection.window.is_whole else selection.window
    if window.days is not None:  # counted back from the last day of the data (today if it holds none)
        span = engine.data_span(table)
        window = window.resolved(span.last if span else datetime.now(UTC).date())
    return selection if window == selection.window else replace(selection, window=window)
