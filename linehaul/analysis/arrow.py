"""Rows as Apache Arrow tables whose columns follow ``schemas/*.json``, nested RECORDs included.

:func:`arrow_schema` derives the Arrow schema of a table from its BigQuery schema, the source of truth:
``STRING`` → ``string``, ``BOOLEAN`` → ``bool`` (``details.ci``), ``INTEGER`` → ``int64``, ``FLOAT`` →
``float64``, ``TIMESTAMP`` → ``timestamp[us, tz=UTC]``, ``RECORD`` → ``struct`` of its fields, in order;
``REQUIRED`` columns are not nullable (the mapping: :mod:`linehaul.columnar.arrow_schema`). Logs become
Arrow tables directly on the columnar path (:mod:`linehaul.columnar`: no NDJSON in between); the lines it
leaves to the line converter, and rows given as NDJSON or dicts, are read by Arrow's own JSON
reader (C++) with that schema given explicitly: nothing is inferred, and a key the schema does not know is
an error.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from itertools import islice
from typing import Any

from linehaul.analysis.errors import MissingExtraError
from linehaul.logs.blocks import RowCodec
from linehaul.logs.parallel import convert_files
from linehaul.logs.paths import expand_paths
from linehaul.rows import dumps_row
from linehaul.schema import load_schema
from linehaul.tables import Table

try:
    import pyarrow as pa
    import pyarrow.ipc
    import pyarrow.json as pa_json

    from linehaul.columnar.arrow_schema import arrow_schema_of
    from linehaul.columnar.converter import TableRows
except ImportError as error:  # pragma: no cover - the analysis extra is part of dev
    raise MissingExtraError("pyarrow") from error

__all__ = ["ARROW", "arrow_schema", "encode_arrow", "ndjson_to_arrow", "read_arrow", "rows_to_arrow"]

_ROWS_PER_BATCH = 10_000


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of ``table`` (a :class:`~linehaul.tables.Table` or its name), from ``schemas/``."""
    return _arrow_schema(table)


@cache
def _arrow_schema(table: Table) -> pa.Schema:
    return arrow_schema_of(load_schema(table))


def ndjson_to_arrow(table: Table, ndjson: bytes) -> pa.Table:
    """NDJSON rows of ``table`` (as :func:`linehaul.dumps_row` writes them) as an Arrow table."""
    schema = arrow_schema(table)
    if not ndjson.strip():
        return schema.empty_table()
    read = pa_json.read_json(
        io.BytesIO(ndjson),
        # one block for the whole buffer: one chunk per call, and rows of any length
        read_options=pa_json.ReadOptions(use_threads=False, block_size=len(ndjson) + 1),
        parse_options=pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error"),
    )
    # the reader gives some REQUIRED columns back as nullable: put the schema's own fields back
    return pa.Table.from_arrays(read.columns, schema=schema)


def encode_arrow(table: Table, rows: list[str]) -> pa.Table:
    """One block's NDJSON rows of ``table`` as an Arrow table."""
    return ndjson_to_arrow(table, ("\n".join(rows) + "\n").encode() if rows else b"")


def _ipc_bytes(rows: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, rows.schema) as writer:
        writer.write_table(rows)
    return sink.getvalue().to_pybytes()


def _from_ipc_bytes(table: Table, data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all() if data else arrow_schema(table).empty_table()


def _columnar_arrow(table: Table, rows: TableRows) -> pa.Table:
    del table
    return rows.arrow()


ARROW = RowCodec(encode_arrow, _ipc_bytes, _from_ipc_bytes, _columnar_arrow)
"""Rows as Arrow tables (for :func:`linehaul.logs.parallel.convert_files`); workers send them as Arrow IPC."""


def rows_to_arrow(rows: Iterable[Mapping[str, Any]], table: Table = Table.FILE_DOWNLOADS) -> pa.Table:
    """Row dicts (as :func:`linehaul.to_row` or :func:`linehaul.analysis.read_rows` give) as Arrow."""
    batches: list[pa.Table] = []
    iterator = iter(rows)
    while batch := list(islice(iterator, _ROWS_PER_BATCH)):
        batches.append(encode_arrow(table, [dumps_row(dict(row)) for row in batch]))
    return pa.concat_tables(batches) if batches else arrow_schema(table).empty_table()


def read_arrow(patterns: Sequence[str], table: Table = Table.FILE_DOWNLOADS, *, jobs: int = 1) -> pa.Table:
    """The rows of ``table`` in log files (paths, globs, ``-``) as one Arrow table, in input order.

    Raises :class:`~linehaul.logs.files.LogFileError` for a file that is missing or cannot be read to its
    end. For logs bigger than memory, write Parquet instead (:func:`linehaul.analysis.write_parquet`).
    """

    def tables() -> Iterator[pa.Table]:
        for item in convert_files(expand_paths(patterns), ARROW, jobs=jobs):
            if isinstance(item, Exception):
                raise item
            yield item.rows(table)

    return pa.concat_tables([arrow_schema(table).empty_table(), *tables()])
