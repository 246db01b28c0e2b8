"""The SQL of the daily tables, in either dialect, built from the fields of ``linehaul stats``.

:func:`aggregate_sql` computes a daily table's rows from rows of ``file_downloads`` (one day's for the
publisher's job, every day's for ``linehaul aggregate``): the day, the project, the field's value by its
own ``--by`` expression, and the two counts, the mirror rule being
:func:`~linehaul.analysis.dimensions.mirror_condition`. So a count read from a daily table is the count
``linehaul stats`` makes over the rows, by construction.

:func:`daily_as_rows` reads a daily table back as rows of ``file_downloads`` would be read: a subquery with
a ``timestamp`` (the day's midnight), ``project``, the field's value where ``file_downloads`` keeps it
(``details.installer.name``) and ``n``, the count each row stands for. The questions of ``linehaul
stats`` (fields, filters, windows) then run over it unchanged (:mod:`linehaul.analysis.daily`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from linehaul.analysis.dimensions import Dialect, Parameters, mirror_condition
from linehaul.daily.shape import DOWNLOADS, PARTITION_FIELD, WITHOUT_MIRRORS, DailyTable

__all__ = ["aggregate_sql", "daily_as_rows", "day_bounds", "midnight"]


def midnight(day: date) -> datetime:
    """The first moment of a UTC day."""
    return datetime.combine(day, time(), UTC)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The first moment of ``day`` and of the day after (UTC)."""
    return midnight(day), midnight(day + timedelta(days=1))


def aggregate_sql(
    table: DailyTable, dialect: Dialect, parameters: Parameters, source: str, day: date | None = None
) -> str:
    """SELECT the rows of ``table`` from ``source`` (rows shaped like ``file_downloads``): of ``day`` only,
    or of every day (then in order of their keys, for files that do not depend on how they were made)."""
    field = table.definition
    columns = [f"{dialect.day('timestamp')} AS {PARTITION_FIELD}", "project"]
    if field is not None:
        columns.append(f"{field.sql(dialect, parameters)} AS {table.field}")
    mirror = mirror_condition(dialect, parameters)
    columns.append(f"COUNT(*) AS {DOWNLOADS}")
    columns.append(f"COUNT(CASE WHEN {mirror} THEN NULL ELSE 1 END) AS {WITHOUT_MIRRORS}")
    keys = ", ".join(str(number) for number in range(1, len(table.keys) + 1))
    lines = [f"SELECT {', '.join(columns)}", f"FROM {source}"]
    if day is not None:
        start, end = day_bounds(day)
        lines.append(
            f"WHERE timestamp >= {parameters.add('day_start', 'TIMESTAMP', start)} "
            f"AND timestamp < {parameters.add('day_end', 'TIMESTAMP', end)}"
        )
    lines.append(f"GROUP BY {keys}")
    if day is None:
        lines.append(f"ORDER BY {', '.join(f'{number} NULLS LAST' for number in keys.split(', '))}")
    return "\n".join(lines)


def _record(dialect: Dialect, path: list[str], value: str) -> str:
    """``value`` nested in records along ``path`` (``["installer", "name"]``), without the outer name."""
    if not path:
        return value
    inner = _record(dialect, path[1:], value)
    if dialect.is_bigquery:
        return f"STRUCT({inner} AS {path[0]})"
    return f"struct_pack({path[0]} := {inner})"


def daily_as_rows(table: DailyTable, dialect: Dialect, name: str, count: str, where: str) -> str:
    """A subquery of the rows of daily table ``name`` that ``where`` keeps (a condition on ``date``), each
    read as a row of ``file_downloads``: ``timestamp`` (the day's midnight), ``project``, the field's value
    at its place there, and ``n``, the count ``count`` (an expression of the table's counts)."""
    moment = f"CAST({PARTITION_FIELD} AS TIMESTAMPTZ)"  # DuckDB's session time zone is UTC
    if dialect.is_bigquery:
        moment = f"TIMESTAMP({PARTITION_FIELD})"
    columns = [f"{moment} AS timestamp", "project"]
    if table.field is not None and table.source is not None:
        top, *inner = table.source.split(".")
        columns.append(f"{_record(dialect, inner, table.field)} AS {top}")
    columns.append(f"{count} AS n")
    return f"(SELECT {', '.join(columns)} FROM {name} WHERE {where}) AS daily"
