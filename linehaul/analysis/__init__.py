"""Offline analysis of CDN logs: rows and events from files, Arrow tables, Parquet, DuckDB SQL, reports.

For people with log files and no cloud project (analysts, mirror operators)::

    from linehaul.analysis import open_database, read_rows

    reading = read_rows(["logs/*.log.gz"])          # rows of file_downloads, as dicts
    for row in reading: ...
    reading.counts                                  # lines read, rows per table, unprocessed, ignored

    with open_database(["logs/*.log.gz"]) as db:    # embedded DuckDB, views file_downloads, simple_requests
        db.query("SELECT count(*) FROM file_downloads").rows

Names are imported on first use, so importing this package, or reading rows and events, does not load
pyarrow or duckdb (the ``analysis`` extra), and counting Parquet files does not load the parsing core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from linehaul._lazy import lazy_attributes
from linehaul.analysis.errors import MissingExtraError, QueryError, UnknownFieldError

if TYPE_CHECKING:
    from linehaul.analysis.arrow import arrow_schema, ndjson_to_arrow, read_arrow, rows_to_arrow
    from linehaul.analysis.database import Database, QueryResult, open_database
    from linehaul.analysis.dimensions import DIMENSIONS, MIRROR_INSTALLERS, Dimension, Sort
    from linehaul.analysis.engine import DataSpan, Engine, SqlQuery
    from linehaul.analysis.parquet import ParquetOutput, ParquetTableWriter, write_parquet
    from linehaul.analysis.report import gather_report
    from linehaul.analysis.report_page import write_report
    from linehaul.analysis.selection import Mirrors, Selection, TimeWindow
    from linehaul.analysis.sources import LogReading, ReadCounts, expand_paths, read_events, read_rows
    from linehaul.analysis.stats import Count, Order, Stats, count_by

__all__ = [
    "DIMENSIONS",
    "MIRROR_INSTALLERS",
    "Count",
    "DataSpan",
    "Database",
    "Dimension",
    "Engine",
    "LogReading",
    "Mirrors",
    "MissingExtraError",
    "Order",
    "ParquetOutput",
    "ParquetTableWriter",
    "QueryError",
    "QueryResult",
    "ReadCounts",
    "Selection",
    "Sort",
    "SqlQuery",
    "Stats",
    "TimeWindow",
    "UnknownFieldError",
    "arrow_schema",
    "count_by",
    "expand_paths",
    "gather_report",
    "ndjson_to_arrow",
    "open_database",
    "read_arrow",
    "read_events",
    "read_rows",
    "rows_to_arrow",
    "write_parquet",
    "write_report",
]

# Every name is imported on first use: the command line imports this package to count a Parquet file,
# and should not pay for the parsing core (reading logs), nor pyarrow (writing Parquet).
_LAZY = {
    "arrow_schema": "arrow",
    "ndjson_to_arrow": "arrow",
    "read_arrow": "arrow",
    "rows_to_arrow": "arrow",
    "Database": "database",
    "QueryResult": "database",
    "open_database": "database",
    "DataSpan": "engine",
    "Engine": "engine",
    "SqlQuery": "engine",
    "DIMENSIONS": "dimensions",
    "MIRROR_INSTALLERS": "dimensions",
    "Dimension": "dimensions",
    "Sort": "dimensions",
    "ParquetOutput": "parquet",
    "ParquetTableWriter": "parquet",
    "write_parquet": "parquet",
    "gather_report": "report",
    "write_report": "report_page",
    "Mirrors": "selection",
    "Selection": "selection",
    "TimeWindow": "selection",
    "LogReading": "sources",
    "ReadCounts": "sources",
    "expand_paths": "sources",
    "read_events": "sources",
    "read_rows": "sources",
    "Count": "stats",
    "Order": "stats",
    "Stats": "stats",
    "count_by": "stats",
}

__getattr__ = lazy_attributes(__name__, _LAZY)
