"""Questions answered from the daily tables where they suffice, from ``file_downloads`` for the rest.

A question of :func:`~linehaul.analysis.count_by` about downloads can be answered from a daily table
(:mod:`linehaul.daily`) when everything it looks at is a column there: the project, the day (so weeks,
months and years too), at most one other field of ``--by``, ``--pivot`` or a filter (``--installer``),
which has a daily table, any ``--project``, any mirror rule (each row carries both counts), and no
``--where`` (SQL over the rows' columns). Its window is split by day: the days whose daily partition is in
step with ``file_downloads`` (:mod:`linehaul.daily.freshness`: partition metadata, no table data read) are
read from the daily table, the others (today's, still being loaded; a day whose late rows are not
aggregated yet) from ``file_downloads``, in one query: a ``UNION ALL`` of the two, each grouped as
``count_by`` groups, then added up. The daily table is read as rows of ``file_downloads``
(:func:`~linehaul.daily.sql.daily_as_rows`), so the fields, filters and windows are the very same SQL:
the answer is the same either way, and so are the days of the rows selected.

An engine takes part by having ``daily_partitions(table)`` (the partitions of ``file_downloads`` and of a
daily table, or None when it has no daily tables) and ``daily_table(table)`` (the table's name in its SQL):
BigQuery's (:class:`~linehaul.gcp.queries.BigQueryEngine`, unless asked not to) does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from linehaul.analysis.dimensions import Dimension, Parameters, Sort
from linehaul.analysis.engine import Engine, SqlQuery
from linehaul.analysis.selection import Mirrors, Selection, TimeWindow
from linehaul.daily.freshness import days_held, ranges
from linehaul.daily.shape import DOWNLOADS, PARTITION_FIELD, WITHOUT_MIRRORS, DailyTable, daily_table_of
from linehaul.daily.sql import daily_as_rows, midnight
from linehaul.tables import Table

__all__ = ["DailyRoute", "daily_route", "grouped_counts", "price_raw_too", "tables_read"]

Days = tuple[tuple[date, date], ...]


@dataclass(frozen=True, slots=True)
class DailyRoute:
    """Where a question's rows are read: ``table`` for the runs of days ``daily``, ``file_downloads`` for
    the runs of days ``raw`` (both as (first, last) days, in order; either may be empty)."""

    table: DailyTable
    daily: Days
    raw: Days

    def describe(self, raw_name: str) -> tuple[str, ...]:
        """``downloads_by_installer_daily for 2026-11-01 to 2026-11-29``, and the same of ``raw_name``."""
        named = ((self.table.name, self.daily), (raw_name, self.raw))
        return tuple(f"{name} for {_days(days)}" for name, days in named if days)


def _days(days: Days) -> str:
    return ", ".join(str(first) if first == last else f"{first} to {last}" for first, last in days)


def _value_fields(fields: Sequence[Dimension], selection: Selection) -> set[str]:
    """The fields a question looks at besides the project and the time."""
    names = {field.name for field in fields if field.sort is not Sort.TIME and field.name != "project"}
    return names | {name for name, _ in selection.filters}


def daily_route(
    engine: Engine, table: Table, fields: Sequence[Dimension], selection: Selection
) -> DailyRoute | None:
    """Where to read the rows of a question (``fields``: its ``--by`` and ``--pivot``; ``selection``: its
    window as dates), or None when no daily table answers it (see the module doc), or none is in step
    for any of its days. Only the days that hold rows are read (partition metadata says which)."""
    partitions = getattr(engine, "daily_partitions", None)
    if table is not Table.FILE_DOWNLOADS or selection.where is not None or not callable(partitions):
        return None
    values = _value_fields(fields, selection)
    daily = daily_table_of(next(iter(values), None)) if len(values) <= 1 else None
    if daily is None:
        return None
    found = partitions(daily)
    if found is None:
        return None
    source, counts = found
    known = set(source) | set(counts)
    first = selection.window.since or min(known, default=None)
    last = selection.window.until or max(known, default=None)
    if first is None or last is None or first > last:
        return None
    in_step, stale = days_held(source, counts, first, last)
    if not in_step:  # nothing to gain (or no row at all in the window)
        return None
    return DailyRoute(daily, tuple(ranges(in_step)), tuple(ranges(stale)))


def _count(mirrors: Mirrors) -> str:
    """The count that a daily row stands for, by the mirror rule of the question."""
    if mirrors is Mirrors.EXCLUDE:
        return WITHOUT_MIRRORS
    if mirrors is Mirrors.ONLY:
        return f"{DOWNLOADS} - {WITHOUT_MIRRORS}"
    return DOWNLOADS


def grouped_counts(
    engine: Engine,
    route: DailyRoute,
    selection: Selection,
    parameters: Parameters,
    columns: Sequence[str],
    keys: Sequence[str],
) -> list[str]:
    """The body of ``count_by``'s ``grouped`` query over ``route``: per group (``columns``, the fields' SQL
    named by ``keys``), the rows (``n``) and the first and last moment (``t0``, ``t1``)."""
    dialect = engine.dialect
    parts: list[list[str]] = []
    if route.daily:
        spans = []
        for number, (first, last) in enumerate(route.daily):
            start = parameters.add(f"daily_first_{number}", "DATE", first)
            end = parameters.add(f"daily_last_{number}", "DATE", last)
            spans.append(f"{PARTITION_FIELD} BETWEEN {start} AND {end}")
        name = engine.daily_table(route.table)  # type: ignore[attr-defined]  # a daily engine's (see above)
        source = daily_as_rows(route.table, dialect, name, _count(selection.mirrors), " OR ".join(spans))
        counted = replace(selection, window=TimeWindow(), mirrors=Mirrors.INCLUDE)  # the count is the rule
        condition = counted.condition(dialect, parameters)
        parts.append(_part(columns, keys, "SUM(n)", source, f"{condition} AND n > 0"))
    if route.raw:
        spans = []
        for number, (first, last) in enumerate(route.raw):
            start = parameters.add(f"raw_start_{number}", "TIMESTAMP", midnight(first))
            end = parameters.add(f"raw_end_{number}", "TIMESTAMP", midnight(last + timedelta(days=1)))
            spans.append(f"(timestamp >= {start} AND timestamp < {end})")
        condition = replace(selection, window=TimeWindow()).condition(dialect, parameters)
        rows = engine.table(Table.FILE_DOWNLOADS)
        source = selection.source(dialect, parameters, Table.FILE_DOWNLOADS, rows)
        parts.append(_part(columns, keys, "COUNT(*)", source, f"({' OR '.join(spans)}) AND {condition}"))
    return _added(parts, keys)


def _part(columns: Sequence[str], keys: Sequence[str], count: str, source: str, condition: str) -> list[str]:
    counted = [*columns, f"{count} AS n", "MIN(timestamp) AS t0", "MAX(timestamp) AS t1"]
    return [
        f"    SELECT {', '.join(counted)}",
        f"    FROM {source}",
        f"    WHERE {condition}",
        *([f"    GROUP BY {', '.join(keys)}"] if keys else []),
    ]


def _added(parts: Sequence[list[str]], keys: Sequence[str]) -> list[str]:
    """The parts' groups added up (``UNION ALL``, then grouped again)."""
    body: list[str] = []
    for number, part in enumerate(parts):
        body += (["    UNION ALL"] if number else []) + part
    total = ["COALESCE(SUM(n), 0) AS n", "MIN(t0) AS t0", "MAX(t1) AS t1"]
    return [
        f"  SELECT {', '.join([*keys, *total])}",
        "  FROM (",
        *body,
        "  ) AS parts",
        *([f"  GROUP BY {', '.join(keys)}"] if keys else []),
    ]


def tables_read(route: DailyRoute | None, engine: Engine, table: Table) -> tuple[str, ...]:
    """What a question reads, for people: its route's tables and days, or ``table`` alone, by the names
    the engine gives them (unquoted)."""
    name = engine.table(table).strip("`").rpartition(".")[2]
    return (name,) if route is None else route.describe(name)


def price_raw_too(engine: Engine, query: SqlQuery) -> None:
    """When ``engine`` prices its questions instead of running them (a dry run), price ``query`` too: the
    same question asked of ``file_downloads`` alone, for the comparison."""
    price = getattr(engine, "price_alternative", None)
    if getattr(engine, "dry_run", False) and callable(price):
        price(query)
