"""Arrow tables whose nested columns follow schemas/, and Parquet files written from them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from linehaul.analysis import ParquetTableWriter, arrow_schema, read_arrow, rows_to_arrow, write_parquet
from linehaul.analysis.arrow import ndjson_to_arrow
from linehaul.tables import Table
from tests.analysis.conftest import Expected, Logs

SCHEMAS = Path(__file__).parents[2] / "schemas"
BIGQUERY_TO_ARROW = {  # the mapping the docs promise
    "STRING": pa.string(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    "INTEGER": pa.int64(),
    "FLOAT": pa.float64(),
}


def _assert_matches(fields: Sequence[pa.Field[Any]], columns: list[dict[str, Any]], where: str) -> None:
    assert [field.name for field in fields] == [column["name"] for column in columns], where
    for field, column in zip(fields, columns, strict=True):
        path = f"{where}{column['name']}"
        assert field.nullable == (column.get("mode", "NULLABLE") != "REQUIRED"), path
        if column["type"] == "RECORD":
            assert pa.types.is_struct(field.type), path
            children = [field.type.field(index) for index in range(field.type.num_fields)]
            _assert_matches(children, column["fields"], f"{path}.")
        else:
            assert field.type == BIGQUERY_TO_ARROW[column["type"]], path


@pytest.mark.parametrize("table", list(Table))
def test_the_arrow_schema_is_the_bigquery_schema(table: Table) -> None:
    columns = json.loads((SCHEMAS / f"{table}.json").read_text())
    _assert_matches(list(arrow_schema(table)), columns, "")


def _as_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Arrow rows back to the shape of to_row: timestamps as RFC 3339 text."""
    rows = table.to_pylist()
    for row in rows:
        row["timestamp"] = row["timestamp"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return rows


def test_read_arrow_holds_the_same_rows(logs: Logs, expected: Expected) -> None:
    downloads = read_arrow(logs.paths)
    assert downloads.schema == arrow_schema(Table.FILE_DOWNLOADS)
    assert _as_rows(downloads) == expected.downloads
    assert _as_rows(read_arrow(logs.paths, Table.SIMPLE_REQUESTS)) == expected.simple
    assert _as_rows(rows_to_arrow(expected.downloads[:50])) == expected.downloads[:50]


def test_a_key_outside_the_schema_is_refused() -> None:
    row = b'{"timestamp":"2021-01-07T20:54:54Z","url":"/simple/x/","project":"x","surprise":1}\n'
    with pytest.raises(pa.ArrowInvalid):
        ndjson_to_arrow(Table.SIMPLE_REQUESTS, row)


def test_parquet_round_trip(logs: Logs, expected: Expected, tmp_path: Path) -> None:
    output = write_parquet(logs.paths, tmp_path)
    assert _as_rows(pq.read_table(output.file_downloads)) == expected.downloads
    assert _as_rows(pq.read_table(output.simple_requests)) == expected.simple
    assert pq.read_schema(output.file_downloads).equals(arrow_schema(Table.FILE_DOWNLOADS))
    assert output.counts.lines == len(logs.lines)


def test_row_groups_have_a_fixed_size_and_the_bytes_do_not_depend_on_chunking(
    logs: Logs, tmp_path: Path
) -> None:
    rows = read_arrow(logs.paths)
    for name, sizes in (("whole", [rows.num_rows]), ("pieces", [1, 700, 13, 2000, rows.num_rows])):
        with ParquetTableWriter(
            tmp_path / f"{name}.parquet", Table.FILE_DOWNLOADS, row_group_rows=1000
        ) as writer:
            start = 0
            for size in sizes:
                writer.write(rows.slice(start, size))
                start += size
    metadata = pq.read_metadata(tmp_path / "whole.parquet")
    groups = [metadata.row_group(index).num_rows for index in range(metadata.num_row_groups)]
    assert groups[:-1] == [1000] * (len(groups) - 1)
    assert sum(groups) == rows.num_rows
    assert (tmp_path / "whole.parquet").read_bytes() == (tmp_path / "pieces.parquet").read_bytes()


def test_an_empty_table_still_gives_a_readable_file(tmp_path: Path) -> None:
    (tmp_path / "empty.log").write_text("")
    output = write_parquet([tmp_path / "empty.log"], tmp_path / "out")
    table = pq.read_table(output.file_downloads)
    assert table.num_rows == 0
    assert table.schema.equals(arrow_schema(Table.FILE_DOWNLOADS))
