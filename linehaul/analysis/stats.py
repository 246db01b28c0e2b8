"""Counts by one field or several: which projects, installers, Python versions, systems, per day, …

:func:`count_by` asks an :class:`~linehaul.analysis.engine.Engine` (the DuckDB
:class:`~linehaul.analysis.Database`, or BigQuery) for the number of rows per combination of values of the
dimensions given (:data:`~linehaul.analysis.dimensions.DIMENSIONS`), in a
:class:`~linehaul.analysis.Selection` (projects, window, mirrors, a SQL condition), most frequent first (the
time fields in time order), each with its share of all the rows selected. A row without a value (an
unrecognised user agent has no installer) counts under ``None``. With ``pivot``, the values of one more field
become columns: installers by Python version, one row per installer. The SQL is built once, from the fields'
definitions, in the engine's dialect; ordering (versions as versions, NULL last) is done by the engine too, so
a ``top`` of a billion-row table travels as a few rows.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from linehaul.analysis.daily import DailyRoute, daily_route, grouped_counts, price_raw_too, tables_read
from linehaul.analysis.dimensions import Dimension, Parameters, Sort, check_dimensions
from linehaul.analysis.engine import DataSpan, Engine, SqlQuery, resolve_selection
from linehaul.analysis.periods import PERIODS, Period
from linehaul.analysis.selection import Mirrors, Selection, TimeWindow
from linehaul.tables import Table

if TYPE_CHECKING:
    from linehaul.analysis.dimensions import Dialect

__all__ = [
    "OTHERS",
    "Count",
    "Order",
    "Stats",
    "TimeWindow",
    "count_by",
    "split_fields",
    "value_text",
]


Value = str | bool | int | date | None


class Order(enum.Enum):
    """The order of the groups: most rows first, or by the fields' values (versions as versions)."""

    COUNT = "count"
    VALUE = "value"


def value_text(value: Value) -> str:
    """A value as a person reads it: ``(none)`` for None, ``true``/``false``, days as ``YYYY-MM-DD``."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if isinstance(value, date) else str(value)


def _json(value: Value) -> str | bool | int | None:
    return value.isoformat() if isinstance(value, date) else value


@dataclass(frozen=True, slots=True)
class Count:
    """How many rows have these ``values`` (one per field), and their share (0 to 1) of all the rows
    selected; with a pivot, ``cells`` are the counts of each of :attr:`Stats.columns`, and ``others``
    those of the columns left out (beyond ``top``)."""

    values: tuple[Value, ...]
    count: int
    share: float
    cells: tuple[int, ...] = ()
    others: int = 0

    @property
    def value(self) -> Value:
        """The value of the first field (the only one, usually)."""
        return self.values[0]


@dataclass(frozen=True, slots=True)
class Stats:
    """The counts by ``fields`` in ``table``: ``total`` rows selected, in ``groups`` groups (``counts``
    shows the first ones), ``None`` counted as a value; no field: one count, the total.

    With a ``pivot`` field, ``columns`` are its values (the most frequent first, or in time or value
    order), ``column_totals`` their rows over every group, and ``others`` the rows of the values left out
    (None: none was). ``first`` and ``last`` are the first and last UTC day of the rows selected (None:
    no row), ``selection`` what was selected, its window as dates (``default_window``: the engine's own,
    as BigQuery's last 30 days)."""

    fields: tuple[str, ...]
    table: Table
    total: int
    groups: int
    counts: tuple[Count, ...]
    pivot: str | None = None
    columns: tuple[Value, ...] = ()
    column_totals: tuple[int, ...] = ()
    others: int | None = None
    first: date | None = None
    last: date | None = None
    selection: Selection = dataclass_field(default_factory=Selection)
    default_window: bool = False

    @property
    def field(self) -> str:
        """The first field (the only one, usually)."""
        return self.fields[0]

    def records(self, *, shares: bool = False) -> list[dict[str, Any]]:
        """What ``--json`` prints as its rows: ``[{"<field>": value, ..., "count": n, "share": 0.25}, ...]``,
        days as ISO text, the share rounded to 6 digits; a pivot's cells under its field, keyed by value
        text (``(others)`` for the values left out), as counts or, with ``shares``, fractions of the row."""
        records = []
        for count in self.counts:
            record: dict[str, Any] = {
                name: _json(value) for name, value in zip(self.fields, count.values, strict=True)
            }
            if self.pivot is not None:
                cells = dict(zip(map(value_text, self.columns), count.cells, strict=True))
                if self.others is not None:
                    cells[OTHERS] = count.others
                record[self.pivot] = (
                    {key: _fraction(cell, count.count) for key, cell in cells.items()} if shares else cells
                )
            record["count"], record["share"] = count.count, round(count.share, 6)
            records.append(record)
        return records


OTHERS = "(others)"
"""The name of a pivot's column of the values left out."""


def _fraction(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def split_fields(fields: str | Sequence[str]) -> tuple[str, ...]:
    """``"installer,python"`` or ``["installer", "python"]`` (or both mixed) as field names."""
    names = [fields] if isinstance(fields, str) else list(fields)
    return tuple(name.strip() for text in names for name in text.split(",") if name.strip())


def count_by(
    engine: Engine,
    fields: str | Sequence[str] = (),
    *,
    table: Table = Table.FILE_DOWNLOADS,
    top: int | None = None,
    order: Order | str | None = None,
    pivot: str | None = None,
    projects: Sequence[str] = (),
    where: str | None = None,
    mirrors: Mirrors = Mirrors.INCLUDE,
    window: TimeWindow | None = None,
    selection: Selection | None = None,
) -> Stats:
    """Rows of ``table`` in ``engine`` (a :class:`~linehaul.analysis.Database`, or BigQuery's
    :class:`~linehaul.gcp.queries.BigQueryEngine`) per value of ``fields`` (names of
    :data:`~linehaul.analysis.dimensions.DIMENSIONS`, a list or ``"a,b"``; none: the total alone), the
    ``top`` first (None: all), in ``order``: ``"count"`` (most first), ``"value"``, or by default leading
    day, week, month or year fields in time order, then by count. A time field alone counts every period of
    the data in the window, those without rows as 0.

    The rows are those of ``selection``, or of ``projects``, ``where``, ``mirrors`` and ``window`` (see
    :class:`~linehaul.analysis.Selection`); without a window, the engine's default (BigQuery: the last
    30 days). ``pivot`` spreads one more field into columns: the ``top`` most frequent (in time order for
    a time field, in value order with ``order="value"``), the rest counted as others.
    """
    names = split_fields(fields)
    if pivot is not None:
        names = tuple(name for name in names if name != pivot)
        if not names:
            raise ValueError("nothing to count by: give a field besides the pivot")
    grouped = check_dimensions(names, table)
    spread = check_dimensions([pivot], table)[0] if pivot is not None else None
    if top is not None and top < 1:
        raise ValueError(f"top must be at least 1 (None: all), not {top}")
    if selection is None:
        selection = Selection(tuple(projects), where, mirrors, window or TimeWindow())
    default = selection.window.is_whole and not engine.default_window.is_whole
    selection = resolve_selection(engine, selection, table)
    sorting = _order(order)
    period = PERIODS.get(names[0]) if len(names) == 1 else None
    limits = _Limits(None if period else top, top)
    # issue 29: the daily tables answer where they suffice (linehaul.analysis.daily), the rows the rest
    route = daily_route(engine, table, [*grouped, *([spread] if spread else [])], selection)
    query = _counts_query(engine, table, grouped, spread, selection, sorting, limits, route)
    rows = engine.run(query)
    if route is not None:  # a dry run prices the question from file_downloads alone too, after it
        price_raw_too(engine, _counts_query(engine, table, grouped, spread, selection, sorting, limits))
    answer = (
        _stats(names, table, rows)
        if spread is None
        else _pivot_stats(names, table, spread.name, rows, limits.columns)
    )
    answer = replace(answer, selection=selection, default_window=default)
    if period is not None:
        answer = _every_period(answer, period, engine.data_span(table), sorting, top)
    return answer


def _order(order: Order | str | None) -> Order | None:
    return order if order is None or isinstance(order, Order) else Order(order)


@dataclass(frozen=True, slots=True)
class _Limits:
    """How many groups (rows) and pivot columns to give (None: all)."""

    rows: int | None
    columns: int | None


def _order_terms(dialect: Dialect, fields: Sequence[Dimension], order: Order | None, count: str) -> str:
    """ORDER BY terms: by count, most first, then by value; by value alone; or by default, leading time
    fields (day, week, month, year) in time order, then by count, then by value."""
    keys = [field.sort_key(dialect, f"g{index}") for index, field in enumerate(fields)]
    if order is None:
        leading = next(
            (index for index, field in enumerate(fields) if field.sort is not Sort.TIME), len(fields)
        )
        head = [term for key in keys[:leading] for term in key]
        return ", ".join([*head, f"{count} DESC", *(term for key in keys[leading:] for term in key)])
    terms = [f"{count} DESC"] if order is Order.COUNT else []
    return ", ".join(terms + [term for key in keys for term in key])


def _column_order(dialect: Dialect, pivot: Dimension, order: Order | None) -> str:
    """The pivot's columns: the most frequent first; in time order for a time field; or in value order."""
    key = pivot.sort_key(dialect, "p")
    if pivot.sort is Sort.TIME or order is Order.VALUE:
        return ", ".join(key)
    return ", ".join(["column_n DESC", *key])


def _counts_query(
    engine: Engine,
    table: Table,
    fields: Sequence[Dimension],
    pivot: Dimension | None,
    selection: Selection,
    order: Order | None,
    limits: _Limits,
    route: DailyRoute | None = None,
) -> SqlQuery:
    """One query: the groups, their counts, the total, the number of groups and the first and last time
    of the rows, in order, the first ones.

    With a pivot, one row per (group, pivot value), ranked by group (``row_rank``) and by pivot value
    (``column_rank``), the first groups' alone; ``row_n`` and ``column_n`` are the rows of a group and
    of a column over all the others.
    """
    dialect = engine.dialect
    parameters = Parameters(dialect)
    raw: tuple[str, str] | None = None
    if route is None:  # in the order of old, so that the SQL of a question stays the same
        source = selection.source(dialect, parameters, table, engine.table(table))
        raw = (source, selection.condition(dialect, parameters))
    groups = [f"g{index}" for index in range(len(fields))]
    columns = [f"{field.sql(dialect, parameters)} AS g{index}" for index, field in enumerate(fields)]
    if pivot is not None:
        columns.append(f"{pivot.sql(dialect, parameters)} AS p")
    keys = [*groups, "p"] if pivot else groups
    if raw is None:
        assert route is not None
        body = grouped_counts(engine, route, selection, parameters, columns, keys)
    else:
        counted = [*columns, "COUNT(*) AS n", "MIN(timestamp) AS t0", "MAX(timestamp) AS t1"]
        body = [
            f"  SELECT {', '.join(counted)}",
            f"  FROM {raw[0]}",
            f"  WHERE {raw[1]}",
            *([f"  GROUP BY {', '.join(keys)}"] if keys else []),
        ]
    lines = ["WITH grouped AS (", *body, ")"]
    top_rows = None if limits.rows is None or not fields else parameters.add("top", "INT64", limits.rows)
    every = "SUM(n) OVER () AS total, MIN(t0) OVER () AS first_at, MAX(t1) OVER () AS last_at"
    if pivot is None:
        lines += [
            f"SELECT {', '.join([*groups, 'n'])}, {every}, COUNT(*) OVER () AS row_count",
            "FROM grouped",
            *([f"ORDER BY {_order_terms(dialect, fields, order, 'n')}"] if fields else []),
            *([f"LIMIT {top_rows}"] if top_rows else []),
        ]
    else:
        kept = [f"row_rank <= {top_rows}"] if top_rows else []
        lines[-1:] = [
            "), totals AS (",
            f"  SELECT *, SUM(n) OVER (PARTITION BY {', '.join(groups)}) AS row_n,",
            "    SUM(n) OVER (PARTITION BY p) AS column_n",
            "  FROM grouped",
            "), ranked AS (",
            "  SELECT *,",
            f"    DENSE_RANK() OVER (ORDER BY {_order_terms(dialect, fields, order, 'row_n')}) AS row_rank,",
            f"    DENSE_RANK() OVER (ORDER BY {_column_order(dialect, pivot, order)}) AS column_rank,",
            f"    {every}",
            "  FROM totals",
            "), counted AS (",
            "  SELECT *, MAX(row_rank) OVER () AS row_count FROM ranked",
            ")",
            f"SELECT {', '.join(groups)}, p, n, row_n, column_n, total, row_count, row_rank, column_rank,",
            "  first_at, last_at",
            "FROM counted",
            *([f"WHERE {' AND '.join(kept)}"] if kept else []),
            "ORDER BY row_rank, column_rank",
        ]
    names = ", ".join(field.name for field in fields) or "the total"
    purpose = f"counts by {names}" + (f" and {pivot.name}" if pivot else "")
    return SqlQuery.of("\n".join(lines), parameters, purpose, reads=tables_read(route, engine, table))


def _day(moment: datetime | None) -> date | None:
    return None if moment is None else moment.astimezone(UTC).date()


def _stats(fields: tuple[str, ...], table: Table, rows: Sequence[tuple[Any, ...]]) -> Stats:
    width = len(fields)
    if not fields:  # the total alone: one row, also when it is 0
        total = int(rows[0][0]) if rows else 0
        first, last = (_day(rows[0][2]), _day(rows[0][3])) if rows else (None, None)
        return Stats(
            fields, table, total, 1, (Count((), total, 1.0 if total else 0.0),), first=first, last=last
        )
    total = int(rows[0][width + 1]) if rows else 0
    counts = tuple(Count(tuple(row[:width]), int(row[width]), int(row[width]) / total) for row in rows)
    first, last = (_day(rows[0][width + 2]), _day(rows[0][width + 3])) if rows else (None, None)
    groups = int(rows[0][width + 4]) if rows else 0
    return Stats(fields, table, total, groups, counts, first=first, last=last)


def _pivot_stats(
    fields: tuple[str, ...], table: Table, pivot: str, rows: Sequence[tuple[Any, ...]], top: int | None
) -> Stats:
    """The cells of the first ``top`` columns (None: all); each group's others are the rest of its rows."""
    width = len(fields)
    columns: dict[int, tuple[Value, int]] = {}
    by_row: dict[int, tuple[tuple[Value, ...], int, dict[int, int]]] = {}
    for row in rows:
        values, column = tuple(row[:width]), row[width]
        cell, row_n, column_n = int(row[width + 1]), int(row[width + 2]), int(row[width + 3])
        rank, column_rank = int(row[width + 6]), int(row[width + 7])
        kept = by_row.setdefault(rank, (values, row_n, {}))[2]
        if top is None or column_rank <= top:
            columns[column_rank] = (column, column_n)
            kept[column_rank] = cell
    order = sorted(columns)
    total = int(rows[0][width + 4]) if rows else 0
    counts = []
    for _, (values, row_n, by_column) in sorted(by_row.items()):
        cells = tuple(by_column.get(rank, 0) for rank in order)
        counts.append(Count(values, row_n, row_n / total, cells, row_n - sum(cells)))
    column_totals = tuple(columns[rank][1] for rank in order)
    first, last = (_day(rows[0][width + 8]), _day(rows[0][width + 9])) if rows else (None, None)
    return Stats(
        fields,
        table,
        total,
        int(rows[0][width + 5]) if rows else 0,
        tuple(counts),
        pivot,
        tuple(columns[rank][0] for rank in order),
        column_totals,
        (total - sum(column_totals)) or None,  # the rows of the columns left out, if any was
        first,
        last,
    )


def _every_period(
    stats: Stats, period: Period, span: DataSpan | None, order: Order | None, top: int | None
) -> Stats:
    """``stats`` of a time field alone with every period the data holds in the window, those without
    rows as 0 (the data's days: a window that reaches beyond them adds no empty period), the ``top``
    first."""
    window = stats.selection.window
    first = max(filter(None, [window.since, span.first if span else stats.first]), default=None)
    last = min(filter(None, [window.until, span.last if span else stats.last]), default=None)
    if first is None or last is None or first > last:
        return stats
    counted = {count.value: count for count in stats.counts}
    empty = tuple(0 for _ in stats.columns)
    counts = [counted.pop(value, Count((value,), 0, 0.0, empty)) for value in period.between(first, last)]
    counts += counted.values()  # rows of a period beyond the span (none, but never lose one)
    if order is Order.COUNT:
        counts.sort(key=lambda count: -count.count)  # stable: in time order within a count
    return replace(stats, groups=len(counts), counts=tuple(counts[:top]))
