"""The Arrow schema of a BigQuery column list (``schemas/*.json``): one mapping of types, for the columnar
path's Arrow rows and the analysis' Arrow tables and Parquet files (:mod:`linehaul.analysis.arrow`).

Needs pyarrow (the ``columnar`` extra).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Any

import pyarrow as pa

from linehaul.schema import Column, column_type

__all__ = ["arrow_field", "arrow_schema_of", "arrow_type_of"]

_SCALARS: dict[str, pa.DataType] = {
    "STRING": pa.string(),
    "BOOLEAN": pa.bool_(),
    "INTEGER": pa.int64(),
    "FLOAT": pa.float64(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
}


def arrow_type_of(column: Column) -> pa.DataType:
    sql_type = column_type(column)
    if sql_type == "RECORD":
        return pa.struct([arrow_field(child) for child in column["fields"]])
    if sql_type not in _SCALARS:
        raise ValueError(f"column {column['name']!r}: no Arrow type for BigQuery type {sql_type}")
    return _SCALARS[sql_type]


def arrow_field(column: Column) -> pa.Field[Any]:
    """The Arrow field of a BigQuery column: ``STRING`` → ``string``, ``BOOLEAN`` → ``bool``, ``INTEGER``
    → ``int64``, ``FLOAT`` → ``float64``, ``TIMESTAMP`` → ``timestamp[us, tz=UTC]``, ``RECORD`` → ``struct``
    of its fields, in order; ``REQUIRED`` columns are not nullable."""
    if column.get("mode") == "REPEATED":
        raise ValueError(f"column {column['name']!r}: REPEATED columns are not used by linehaul")
    return pa.field(column["name"], arrow_type_of(column), nullable=column.get("mode") != "REQUIRED")


def arrow_schema_of(columns: Sequence[Column]) -> pa.Schema:
    """The Arrow schema of a BigQuery column list (see :func:`arrow_field`)."""
    return _schema(json.dumps(list(columns), sort_keys=True))


@cache
def _schema(columns: str) -> pa.Schema:
    return pa.schema([arrow_field(column) for column in json.loads(columns)])
