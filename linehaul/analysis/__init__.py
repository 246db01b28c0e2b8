"""Offline analysis of CDN logs: rows and events from files, Arrow tables, Parquet, DuckDB SQL, reports.

For people with log files and no cloud project (analysts, mirror operators)::

    from linehaul.analysis import open_database, read_rows

    reading = read_rows(["logs/*.log.gz"])          # rows of file_downloads, as dicts
    for row in reading: ...
    reading.counts                                  # lines read, rows per table, unprocessed, ignored

    with open_database(["logs/*.log.gz"]) as db:    # embedded DuckDB, views file_downloads, simple_requests
        db.query("SELECT count(*) FROM file_downloads").rows

Names that need pyarrow or duckdb (the ``analysis`` extra) are imported on first use, so importing
this package, or reading rows and events, does not load them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from linehaul.analysis.errors import MissingExtraError, QueryError, UnknownFieldError
from linehaul.analysis.sources import LogReading, ReadCounts, expand_paths, read_events, read_rows

if TYPE_CHECKING:
    from linehaul.analysis.arrow import arrow_schema, ndjson_to_arrow, read_arrow, rows_to_arrow
    from linehaul.analysis.database import Database, QueryResult, open_database
    from linehaul.analysis.parquet import ParquetOutput, ParquetTableWriter, write_parquet
    from linehaul.analysis.report import write_report
    from linehaul.analysis.stats import STATS_FIELDS, Count, Stats, TimeWindow, count_by

__all__ = [
    "STATS_FIELDS",
    "Count",
    "Database",
    "LogReading",
    "MissingExtraError",
    "ParquetOutput",
    "ParquetTableWriter",
    "QueryError",
    "QueryResult",
    "ReadCounts",
    "Stats",
    "TimeWindow",
    "UnknownFieldError",
    "arrow_schema",
    "count_by",
    "expand_paths",
    "ndjson_to_arrow",
    "open_database",
    "read_arrow",
    "read_events",
    "read_rows",
    "rows_to_arrow",
    "write_parquet",
    "write_report",
]

_LAZY = {
    "arrow_schema": "arrow",
    "ndjson_to_arrow": "arrow",
    "read_arrow": "arrow",
    "rows_to_arrow": "arrow",
    "Database": "database",
    "QueryResult": "database",
    "open_database": "database",
    "ParquetOutput": "parquet",
    "ParquetTableWriter": "parquet",
    "write_parquet": "parquet",
    "write_report": "report",
    "STATS_FIELDS": "stats",
    "Count": "stats",
    "Stats": "stats",
    "TimeWindow": "stats",
    "count_by": "stats",
}


def __getattr__(name: str) -> Any:
    """Import the module of a name that needs pyarrow or duckdb when it is first used."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
