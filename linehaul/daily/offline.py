"""The daily tables on DuckDB: from the rows of an open database (``linehaul aggregate``, into Parquet files
that DuckDB, ``linehaul query`` or BigQuery read), or from rows in memory (the tests' in-memory warehouse).

The SQL is :func:`linehaul.daily.sql.aggregate_sql` in DuckDB's dialect: the very counts the publisher's
jobs make in BigQuery. Needs the ``analysis`` extra (DuckDB).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from linehaul.analysis.database import _duckdb_type
from linehaul.analysis.dimensions import DUCKDB, Parameters
from linehaul.daily.shape import DAILY_TABLES, DailyTable
from linehaul.daily.sql import aggregate_sql
from linehaul.schema import load_schema
from linehaul.tables import Table

try:
    import duckdb
except ImportError as error:  # pragma: no cover - the analysis extra is part of dev
    from linehaul.analysis.errors import MissingExtraError

    raise MissingExtraError("duckdb") from error

__all__ = ["aggregate_rows", "daily_parquet_path", "write_daily_parquet"]


def _values(parameters: Parameters) -> dict[str, Any]:
    return {
        name: list(item.value) if isinstance(item.value, tuple) else item.value
        for name, item in parameters.values.items()
    }


def daily_parquet_path(directory: str | os.PathLike[str], table: DailyTable) -> Path:
    """``DIR/downloads_by_installer_daily.parquet``: where ``linehaul aggregate`` writes a daily table."""
    return Path(directory, f"{table.name}.parquet")


def write_daily_parquet(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    directory: str | os.PathLike[str],
    tables: Sequence[DailyTable] = DAILY_TABLES,
) -> dict[DailyTable, int]:
    """Write each daily table of the rows of ``source`` (a view or table of ``connection`` shaped like
    ``file_downloads``) to ``directory`` as Parquet (zstd), its rows in the order of their keys; returns
    the rows of each."""
    written = {}
    for table in tables:
        parameters = Parameters(DUCKDB)
        sql = aggregate_sql(table, DUCKDB, parameters, source)
        path = str(daily_parquet_path(directory, table))
        quoted = path.replace("'", "''")
        copy = f"COPY ({sql}) TO '{quoted}' (FORMAT parquet, COMPRESSION zstd)"
        connection.execute(copy, _values(parameters))
        found = connection.execute("SELECT COUNT(*) FROM read_parquet(?)", [path]).fetchall()
        written[table] = int(found[0][0])
    return written


def aggregate_rows(
    rows: Iterable[Mapping[str, Any]], day: date | None = None, tables: Sequence[DailyTable] = DAILY_TABLES
) -> dict[DailyTable, list[dict[str, Any]]]:
    """The rows of each daily table made from ``rows`` of ``file_downloads`` (dicts as :func:`linehaul.to_row`
    makes them), of ``day`` only or of every day."""
    schema = load_schema(Table.FILE_DOWNLOADS)
    columns = "{" + ", ".join(f"'{column['name']}': '{_duckdb_type(column)}'" for column in schema) + "}"
    with tempfile.TemporaryDirectory(prefix="linehaul-daily-") as directory:
        path = os.path.join(directory, "rows.ndjson")
        with open(path, "w", encoding="utf-8") as file:
            file.writelines(json.dumps(row) + "\n" for row in rows)
        connection = duckdb.connect(":memory:")
        try:
            connection.execute("SET TimeZone = 'UTC'")
            connection.execute(
                "CREATE TABLE file_downloads AS SELECT * FROM "
                f"read_json(?, format = 'newline_delimited', columns = {columns})",
                [path],
            )
            found = {}
            for table in tables:
                parameters = Parameters(DUCKDB)
                result = connection.execute(
                    aggregate_sql(table, DUCKDB, parameters, "file_downloads", day), _values(parameters)
                )
                names = [column[0] for column in result.description or ()]
                found[table] = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
            return found
        finally:
            connection.close()
