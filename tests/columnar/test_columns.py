"""A column added to a copy of a schema reaches every path: to_row, the line converter, and the columnar
path's NDJSON and Arrow rows, all from the one column list."""

from __future__ import annotations

import copy
import json
from typing import Any

import pyarrow as pa

from linehaul import Download, Ignored, LineError, dumps_row, parse_line
from linehaul.columnar.arrow_schema import arrow_schema_of
from linehaul.columnar.converter import ColumnarConverter
from linehaul.convert import Converter
from linehaul.converted import Converted
from linehaul.logs.sample import sample_lines
from linehaul.rows import RowFormat
from linehaul.schema import load_schema
from linehaul.tables import Table

LINES = list(sample_lines(3000, seed=3))
BLOCK = ("\n".join(LINES) + "\n").encode()


def _with_new_columns(table: Table) -> list[dict[str, Any]]:
    columns: list[dict[str, Any]] = copy.deepcopy([dict(column) for column in load_schema(table)])
    columns.insert(2, {"name": "ingested_from", "type": "STRING", "mode": "NULLABLE"})
    for column in columns:
        if column["name"] == "file":
            column["fields"].append({"name": "size", "type": "INTEGER", "mode": "NULLABLE"})
        if column["name"] == "details":
            installer = next(child for child in column["fields"] if child["name"] == "installer")
            installer["fields"].append({"name": "flavour", "type": "STRING", "mode": "NULLABLE"})
    return columns


FORMATS = {table: RowFormat(table, _with_new_columns(table)) for table in Table}


def test_a_new_column_reaches_every_path() -> None:
    expected: dict[Table, list[str]] = {table: [] for table in Table}
    for line in LINES:
        try:
            outcome = parse_line(line)
        except LineError:
            continue
        if not isinstance(outcome, Ignored):
            table = Table.FILE_DOWNLOADS if isinstance(outcome, Download) else Table.SIMPLE_REQUESTS
            expected[table].append(dumps_row(FORMATS[table].to_row(outcome)))
    line_out = Converted()
    Converter(formats=FORMATS).convert_block(BLOCK, line_out)
    columnar = ColumnarConverter(Converter(formats=FORMATS)).convert_block(BLOCK)
    for table in Table:
        rows = expected[table]
        assert rows
        assert line_out.rows(table) == rows
        assert columnar.rows[table].ndjson() == ("\n".join(rows) + "\n").encode()
        first = json.loads(rows[0])
        assert list(first)[2] == "ingested_from"
        assert first["ingested_from"] is None
        arrow = columnar.rows[table].arrow()
        assert arrow.schema == arrow_schema_of(FORMATS[table].columns)
        assert arrow.column("ingested_from").null_count == len(rows)
        assert arrow.to_pylist() == [json.loads(row) | _timestamps(row) for row in rows]
    downloads = [json.loads(row) for row in expected[Table.FILE_DOWNLOADS]]
    assert all(row["file"]["size"] is None for row in downloads)
    installers = [row["details"]["installer"] for row in downloads if row["details"]]
    assert any(installers)
    assert all(installer["flavour"] is None for installer in installers if installer)


def _timestamps(row: str) -> dict[str, Any]:
    """The row's timestamp as Arrow gives it back (a datetime)."""
    text = json.loads(row)["timestamp"]
    return {"timestamp": pa.scalar(text).cast(pa.timestamp("us", tz="UTC")).as_py()}
