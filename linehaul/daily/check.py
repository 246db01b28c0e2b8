"""Whether a daily table holds exactly the counts of ``file_downloads``, in SQL: for ``linehaul local run``'s
summary and the benchmarks (the tests count in Python instead, tests/daily_counts.py).

:func:`check_sql` compares, for every day the daily table holds, its rows with the same aggregation made
afresh from the rows (:func:`~linehaul.daily.sql.aggregate_sql`): the rows on either side only, or counted
otherwise. It reads every day of ``file_downloads`` the table holds: run it on the local cloud or on
samples, not every day on PyPI's tables.
"""

from __future__ import annotations

from linehaul.analysis.dimensions import Dialect, Parameters
from linehaul.daily.shape import COUNTS, PARTITION_FIELD, DailyTable
from linehaul.daily.sql import aggregate_sql

__all__ = ["check_sql"]


def check_sql(table: DailyTable, dialect: Dialect, parameters: Parameters, source: str, daily: str) -> str:
    """SELECT of one row: the days the daily table ``daily`` holds, its rows, and how many of them differ
    from the aggregation of ``source`` (rows missing on either side, counted otherwise, or held twice)."""
    fresh = aggregate_sql(table, dialect, parameters, source)
    columns = ", ".join([*table.keys, *COUNTS])
    held = f"SELECT DISTINCT {PARTITION_FIELD} FROM {daily}"
    return (
        f"WITH fresh AS (SELECT * FROM ({fresh}) AS made WHERE {PARTITION_FIELD} IN ({held})),\n"
        f"kept AS (SELECT {columns} FROM {daily}),\n"
        "apart AS (\n"
        "  (SELECT * FROM kept EXCEPT DISTINCT SELECT * FROM fresh)\n"
        "  UNION ALL\n"
        "  (SELECT * FROM fresh EXCEPT DISTINCT SELECT * FROM kept)\n"
        ")\n"
        f"SELECT (SELECT COUNT(DISTINCT {PARTITION_FIELD}) FROM kept) AS days,\n"
        "  (SELECT COUNT(*) FROM kept) AS held,\n"
        "  (SELECT COUNT(*) FROM apart) + ABS((SELECT COUNT(*) FROM kept) - (SELECT COUNT(*) FROM fresh))\n"
        "  AS differing"
    )
