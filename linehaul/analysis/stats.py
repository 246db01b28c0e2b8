"""Counts by one field or several: which projects, installers, Python versions, systems, per day, …

:func:`count_by` asks an :class:`~linehaul.analysis.engine.Engine` (the DuckDB
:class:`~linehaul.analysis.Database`, or BigQuery) for the number of rows per combination of values of
the :data:`~linehaul.analysis.fields.FIELDS` given, in a :class:`~linehaul.analysis.Selection` (projects,
window, mirrors, a SQL condition), most frequent first (the time fields in time order), each with its
share of all the rows selected. A row without a value (an unrecognised user agent has no installer)
counts under ``None``. With ``pivot``, the values of one more field become columns: installers by
Python version, one row per installer. The SQL is built once, from the fields' definitions, in the
engine's dialect; ordering (versions as versions, NULL last) is done by the engine too, so a ``top``
of a billion-row table travels as a few rows.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from linehaul.analysis.engine import Engine, SqlQuery, resolve_selection
from linehaul.analysis.fields import FIELDS, Field, Parameters, Sort, check_fields
from linehaul.analysis.selection import Mirrors, Selection, TimeWindow
from linehaul.tables import Table

if TYPE_CHECKING:
    from linehaul.analysis.fields import Dialect

__all__ = ["STATS_FIELDS", "Count", "Order", "Stats", "TimeWindow", "count_by", "split_fields", "value_text"]

STATS_FIELDS: tuple[str, ...] = tuple(FIELDS)
"""The name of every field ``linehaul stats --by`` knows (see :data:`~linehaul.analysis.fields.FIELDS`)."""

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
    selected; with a pivot, ``cells`` are the counts of each of :attr:`Stats.columns`."""

    values: tuple[Value, ...]
    count: int
    share: float
    cells: tuple[int, ...] = ()

    @property
    def value(self) -> Value:
        """The value of the first field (the only one, usually)."""
        return self.values[0]


@dataclass(frozen=True, slots=True)
class Stats:
    """The counts by ``fields`` in ``table``: ``total`` rows selected, in ``groups`` groups (``counts``
    shows the first ones), ``None`` counted as a value. With a ``pivot`` field, ``columns`` are its values
    (in value order) and each count has a cell per column."""

    fields: tuple[str, ...]
    table: Table
    total: int
    groups: int
    counts: tuple[Count, ...]
    pivot: str | None = None
    columns: tuple[Value, ...] = ()

    @property
    def field(self) -> str:
        """The first field (the only one, usually)."""
        return self.fields[0]

    def records(self) -> list[dict[str, Any]]:
        """What ``--json`` prints: ``[{"<field>": value, ..., "count": n, "share": 0.25}, ...]``, days as
        ISO text, the share rounded to 6 digits; a pivot's cells under its field, keyed by value text."""
        records = []
        for count in self.counts:
            record: dict[str, Any] = {
                name: _json(value) for name, value in zip(self.fields, count.values, strict=True)
            }
            if self.pivot is not None:
                record[self.pivot] = {
                    value_text(column): cell for column, cell in zip(self.columns, count.cells, strict=True)
                }
            record["count"], record["share"] = count.count, round(count.share, 6)
            records.append(record)
        return records


def split_fields(fields: str | Sequence[str]) -> tuple[str, ...]:
    """``"installer,python"`` or ``["installer", "python"]`` (or both mixed) as field names."""
    names = [fields] if isinstance(fields, str) else list(fields)
    return tuple(name.strip() for text in names for name in text.split(",") if name.strip())


def count_by(
    engine: Engine,
    fields: str | Sequence[str],
    *,
    table: Table | str = Table.FILE_DOWNLOADS,
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
    :data:`~linehaul.analysis.fields.FIELDS`, a list or ``"a,b"``), the ``top`` first (None: all), in
    ``order``: ``"count"`` (most first), ``"value"``, or by default leading day, month or year fields in
    time order, then by count.

    The rows are those of ``selection``, or of ``projects``, ``where``, ``mirrors`` and ``window`` (see
    :class:`~linehaul.analysis.Selection`); without a window, the engine's default (BigQuery: the last
    30 days). ``pivot`` spreads one more field into columns.
    """
    chosen = Table.of(table)
    names = split_fields(fields)
    if pivot is not None:
        names = tuple(name for name in names if name != pivot)
    if not names:
        raise ValueError("nothing to count by: give a field besides the pivot")
    grouped = check_fields(names, chosen)
    spread = check_fields([pivot], chosen)[0] if pivot is not None else None
    if top is not None and top < 1:
        raise ValueError(f"top must be at least 1 (None: all), not {top}")
    if selection is None:
        selection = Selection(tuple(projects), where, mirrors, window or TimeWindow())
    selection = resolve_selection(engine, selection, chosen)
    sorting = _order(order)
    query = _counts_query(engine, chosen, grouped, spread, selection, sorting, top)
    rows = engine.run(query)
    if spread is None:
        return _stats(names, chosen, rows)
    return _pivot_stats(names, chosen, spread.name, rows)


def _order(order: Order | str | None) -> Order | None:
    return order if order is None or isinstance(order, Order) else Order(order)


def _order_terms(dialect: Dialect, fields: Sequence[Field], order: Order | None, count: str) -> str:
    """ORDER BY terms: by count, most first, then by value; by value alone; or by default, leading time
    fields (day, month, year) in time order, then by count, then by value."""
    keys = [field.sort_key(dialect, f"g{index}") for index, field in enumerate(fields)]
    if order is None:
        leading = next(
            (index for index, field in enumerate(fields) if field.sort is not Sort.TIME), len(fields)
        )
        head = [term for key in keys[:leading] for term in key]
        return ", ".join([*head, f"{count} DESC", *(term for key in keys[leading:] for term in key)])
    terms = [f"{count} DESC"] if order is Order.COUNT else []
    return ", ".join(terms + [term for key in keys for term in key])


def _counts_query(
    engine: Engine,
    table: Table,
    fields: Sequence[Field],
    pivot: Field | None,
    selection: Selection,
    order: Order | None,
    top: int | None,
) -> SqlQuery:
    """One query: the groups, their counts, the total and the number of groups, in order, the top ones.

    With a pivot, one row per (group, pivot value), ranked by group (``row_rank``) and by pivot value
    (``column_rank``), so the top groups keep all their cells.
    """
    dialect = engine.dialect
    parameters = Parameters(dialect)
    groups = [f"g{index}" for index in range(len(fields))]
    columns = [f"{field.sql(dialect, parameters)} AS g{index}" for index, field in enumerate(fields)]
    keys = [*groups, "p"] if pivot else groups
    if pivot is not None:
        columns.append(f"{pivot.sql(dialect, parameters)} AS p")
    lines = [
        "WITH grouped AS (",
        f"  SELECT {', '.join(columns)}, COUNT(*) AS n",
        f"  FROM {engine.table(table)}",
        f"  WHERE {selection.condition(dialect, parameters)}",
        f"  GROUP BY {', '.join(keys)}",
        ")",
    ]
    limit = None if top is None else parameters.add("top", "INT64", top)
    if pivot is None:
        lines += [
            f"SELECT {', '.join(groups)}, n, SUM(n) OVER () AS total, COUNT(*) OVER () AS row_count",
            "FROM grouped",
            f"ORDER BY {_order_terms(dialect, fields, order, 'n')}",
            *([f"LIMIT {limit}"] if limit else []),
        ]
    else:
        lines[-1:] = [
            "), row_totals AS (",
            f"  SELECT *, SUM(n) OVER (PARTITION BY {', '.join(groups)}) AS row_n FROM grouped",
            "), ranked AS (",
            "  SELECT *,",
            f"    DENSE_RANK() OVER (ORDER BY {_order_terms(dialect, fields, order, 'row_n')}) AS row_rank,",
            f"    DENSE_RANK() OVER (ORDER BY {', '.join(pivot.sort_key(dialect, 'p'))}) AS column_rank,",
            "    SUM(n) OVER () AS total",
            "  FROM row_totals",
            "), counted AS (",
            "  SELECT *, MAX(row_rank) OVER () AS row_count FROM ranked",
            ")",
            f"SELECT {', '.join(groups)}, p, n, row_n, total, row_count, row_rank, column_rank",
            "FROM counted",
            *([f"WHERE row_rank <= {limit}"] if limit else []),
            "ORDER BY row_rank, column_rank",
        ]
    names = ", ".join(field.name for field in fields) + (f" and {pivot.name}" if pivot else "")
    return SqlQuery.of("\n".join(lines), parameters, f"counts by {names}")


def _stats(fields: tuple[str, ...], table: Table, rows: Sequence[tuple[Any, ...]]) -> Stats:
    width = len(fields)
    total = int(rows[0][width + 1]) if rows else 0
    counts = tuple(Count(tuple(row[:width]), int(row[width]), int(row[width]) / total) for row in rows)
    return Stats(fields, table, total, int(rows[0][width + 2]) if rows else 0, counts)


def _pivot_stats(fields: tuple[str, ...], table: Table, pivot: str, rows: Sequence[tuple[Any, ...]]) -> Stats:
    width = len(fields)
    columns: dict[int, Value] = {}
    by_row: dict[int, tuple[tuple[Value, ...], int, dict[int, int]]] = {}
    for row in rows:
        values, column, cell, row_n = tuple(row[:width]), row[width], int(row[width + 1]), int(row[width + 2])
        rank, column_rank = int(row[width + 5]), int(row[width + 6])
        columns[column_rank] = column
        by_row.setdefault(rank, (values, row_n, {}))[2][column_rank] = cell
    order = sorted(columns)
    total = int(rows[0][width + 3]) if rows else 0
    counts = tuple(
        Count(values, row_n, row_n / total, tuple(cells.get(rank, 0) for rank in order))
        for _, (values, row_n, cells) in sorted(by_row.items())
    )
    groups = int(rows[0][width + 4]) if rows else 0
    return Stats(fields, table, total, groups, counts, pivot, tuple(columns[rank] for rank in order))
