"""NDJSON row files (staged by the ingestor, exported from BigQuery) as Parquet, for the DuckDB views.

The rows are read in blocks of whole lines (plain or gzip, memory flat) by Arrow's JSON reader, with the
table's schema given explicitly: a key the schema does not know is an error naming the file, a key that is
missing is NULL (BigQuery exports leave NULL fields out). Timestamps are accepted as linehaul writes
them (``2021-01-07T20:54:54Z``) and as BigQuery exports them (``2021-01-07 20:54:54 UTC``).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from functools import cache

from linehaul.analysis.arrow import arrow_schema
from linehaul.analysis.errors import MissingExtraError
from linehaul.analysis.parquet import ParquetTableWriter
from linehaul.logs.files import LogFileError, read_blocks
from linehaul.tables import Table

try:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pa_json
except ImportError as error:  # pragma: no cover - the analysis extra is part of dev
    raise MissingExtraError("pyarrow") from error

__all__ = ["read_row_file", "write_row_files"]


@cache
def _text_timestamps(table: Table) -> pa.Schema:
    """The table's schema with ``timestamp`` read as text (converted afterwards: two formats)."""
    schema = arrow_schema(table)
    index = schema.get_field_index("timestamp")
    return schema.set(index, schema.field(index).with_type(pa.string()))


def read_row_file(path: str, table: Table) -> list[pa.Table]:
    """The rows of an NDJSON file of ``table`` as Arrow tables (one per block); LogFileError naming the
    file for anything that is not such a row."""
    schema = arrow_schema(table)
    tables = []
    for block in read_blocks(path):
        try:
            read = pa_json.read_json(
                io.BytesIO(block),
                read_options=pa_json.ReadOptions(use_threads=False, block_size=len(block) + 1),
                parse_options=pa_json.ParseOptions(
                    explicit_schema=_text_timestamps(table), unexpected_field_behavior="error"
                ),
            )
            index = schema.get_field_index("timestamp")
            text = pc.replace_substring_regex(read.column(index), r" UTC$", "Z")
            columns = [
                *read.columns[:index],
                pc.cast(text, schema.field(index).type),
                *read.columns[index + 1 :],
            ]
            tables.append(pa.Table.from_arrays(columns, schema=schema))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
            raise LogFileError(path, f"not rows of {table.value}: {error}") from None
    return tables


def write_row_files(
    inputs: Sequence[tuple[str, Table]], directory: str | os.PathLike[str]
) -> list[tuple[str, str, Table]]:
    """Write the rows of each NDJSON file (path, table) into a Parquet file of its own in ``directory``:
    (the NDJSON file, its Parquet file, the table), in order."""
    written = []
    for number, (path, table) in enumerate(inputs):
        target = os.path.join(directory, f"rows-{number}-{table.value}.parquet")
        with ParquetTableWriter(target, table) as writer:
            for rows in read_row_file(path, table):
                writer.write(rows)
        written.append((path, target, table))
    return written
