"""Private: a block's rows, assembled column by column from the table's column list (a :class:`RowFormat`).

The columnar path knows some values for each of a block's rows, by name, as :mod:`linehaul._columns` reads
them from an event (``url``, ``file.filename``, ...): each a :data:`Value`. :func:`ndjson_rows` walks the
format's columns and writes each row's JSON text with one element-wise join of literal pieces (the keys,
generated from the column list as :mod:`linehaul._templates` does) and value arrays; :func:`arrow_rows`
walks the same columns and builds each one's Arrow array. A column that no value names is null in every
row, as it is on the other paths: so a column added to ``schemas/`` reaches the columnar rows too.

Text values here are plain fields (:mod:`linehaul.columnar._rules`): their JSON text is the field between
quotes, so no escaping is needed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.compute as compute

from linehaul._columns import column_name
from linehaul.columnar.arrow_schema import arrow_type_of
from linehaul.schema import Column, column_type

Array: TypeAlias = "pa.Array[Any]"
"""An Arrow array (the stubs' generic type, spelled once)."""
pc: Any = compute  # pyarrow-stubs' overloads refuse the Python scalars that Arrow's functions take

__all__ = [
    "Array",
    "Coded",
    "Details",
    "Record",
    "Text",
    "Timestamp",
    "Value",
    "arrow_rows",
    "ndjson_rows",
    "values_of",
]


def values_of(array: Array) -> list[Any]:
    """The array's values as Python objects (``None`` for null)."""
    values: list[Any] = array.to_pylist()
    return values


@dataclass(frozen=True, slots=True)
class Text:
    """A string for each row (many distinct ones); null where the row has no value (then ``nullable``)."""

    values: Array
    nullable: bool = False


@dataclass(frozen=True, slots=True)
class Coded:
    """A value for each row, as the index of one of a few distinct values: ``texts`` holds the JSON text
    of each (or, in a :class:`Timestamp`, its text), ``values`` the distinct values as Arrow."""

    indices: Array
    texts: list[str]
    values: Array

    def arrow(self) -> Array:
        taken: Array = pc.take(self.values, self.indices)
        return taken


@dataclass(frozen=True, slots=True)
class Timestamp:
    """Each row's time as RFC 3339 text, in two parts: its day (``2021-01-07``) and time (``20:54:54``)."""

    day: Coded
    time: Array

    def text(self) -> Array:
        text: Array = pc.binary_join_element_wise(self.day.arrow(), "T", self.time, "Z", "")
        return text


@dataclass(frozen=True, slots=True)
class Details:
    """A record encoded once per distinct agent: the JSON text of each (``json.texts``), and each row's
    Arrow value (a struct), made only when asked (NDJSON output never needs it)."""

    json: Coded
    arrow: Callable[[], Array]


@dataclass(frozen=True, slots=True)
class Record:
    """A record whose fields are values by name (a row always has it)."""

    fields: Mapping[str, Value]


Value = Text | Coded | Timestamp | Details | Record

Piece: TypeAlias = "str | Array | Coded"


def ndjson_rows(columns: Sequence[Column], values: Mapping[str, Value], rows: int) -> Array:
    """Each row's NDJSON line (with its newline) as a string array: the text of ``dumps_row`` of its row.

    The row is one element-wise join of its pieces; the literal text around a coded value is folded into
    its few distinct texts first, so that the join has as few pieces as can be."""
    pieces: list[Piece] = []
    for index, column in enumerate(columns):
        name = column_name(column)
        pieces.append(("{" if index == 0 else ",") + json.dumps(name) + ":")
        _json_pieces(column, values.get(name), pieces)
    pieces.append("}\n" if columns else "{}\n")
    arrays = [_taken(piece) if isinstance(piece, Coded) else piece for piece in _folded(pieces)]
    if len(arrays) == 1:  # every column a literal, or all folded into one coded value
        only = arrays[0]
        return pa.array([only] * rows, pa.string()) if isinstance(only, str) else only
    rows_text: Array = pc.binary_join_element_wise(
        *arrays, "", null_handling="replace", null_replacement="null"
    )
    return rows_text


def _folded(pieces: list[Piece]) -> list[Piece]:
    """Adjacent literals joined; a literal before a coded value folded into it, and one after too when no
    coded value follows it."""
    merged: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        elif not isinstance(piece, str) or piece:
            merged.append(piece)
    folded: list[Piece] = []
    for index, piece in enumerate(merged):
        if isinstance(piece, Coded) and folded and isinstance(folded[-1], str):
            before = folded.pop()
            assert isinstance(before, str)
            piece = Coded(piece.indices, [before + text for text in piece.texts], piece.values)
        if isinstance(piece, str) and folded and isinstance(folded[-1], Coded):
            following = merged[index + 1] if index + 1 < len(merged) else None
            if not isinstance(following, Coded):
                coded = folded.pop()
                assert isinstance(coded, Coded)
                piece = Coded(coded.indices, [text + piece for text in coded.texts], coded.values)
        folded.append(piece)
    return folded


def _taken(coded: Coded) -> Array:
    taken: Array = pc.take(pa.array(coded.texts, pa.string()), coded.indices)
    return taken


def _json_pieces(column: Column, value: Value | None, pieces: list[Piece]) -> None:
    """Add the pieces of ``column``'s JSON text for ``value`` (a null array piece writes ``null``)."""
    sql_type = column_type(column)
    if value is None:
        pieces.append("null")
    elif isinstance(value, Record) and sql_type == "RECORD":
        for index, child in enumerate(column["fields"]):
            name = column_name(child)
            pieces.append(("{" if index == 0 else ",") + json.dumps(name) + ":")
            _json_pieces(child, value.fields.get(name), pieces)
        pieces.append("}" if column["fields"] else "{}")
    elif isinstance(value, Timestamp) and sql_type == "TIMESTAMP":
        pieces += ['"', value.day, "T", value.time, 'Z"']
    elif isinstance(value, Details) and sql_type == "RECORD":
        pieces.append(value.json)
    elif isinstance(value, Coded) and sql_type == "STRING":
        pieces.append(value)
    elif isinstance(value, Text) and sql_type == "STRING":
        if value.nullable:  # null stays null through the join, and the row's join writes it as null
            pieces.append(pc.binary_join_element_wise('"', value.values, '"', ""))
        else:
            pieces += ['"', value.values, '"']
    else:
        raise ValueError(
            f"column {column['name']!r} ({sql_type}) cannot hold the value {type(value).__name__}"
        )


def arrow_rows(
    columns: Sequence[Column], values: Mapping[str, Value], rows: int, schema: pa.Schema
) -> pa.RecordBatch:
    """The rows as an Arrow record batch of ``schema`` (:func:`arrow_schema_of` of ``columns``)."""
    arrays = [_arrow_array(column, values.get(column_name(column)), rows) for column in columns]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _arrow_array(column: Column, value: Value | None, rows: int) -> Array:
    sql_type, arrow_type = column_type(column), arrow_type_of(column)
    if value is None:
        nulls: Array = pa.nulls(rows, arrow_type)  # type: ignore[call-overload]
        return nulls
    if isinstance(value, Record) and sql_type == "RECORD":
        children = [
            _arrow_array(child, value.fields.get(column_name(child)), rows) for child in column["fields"]
        ]
        return pa.StructArray.from_arrays(children, fields=list(arrow_type))  # type: ignore[call-overload]
    if isinstance(value, Timestamp) and sql_type == "TIMESTAMP":
        return value.text().cast(arrow_type)
    if isinstance(value, Details) and sql_type == "RECORD":
        return value.arrow()
    if isinstance(value, Coded) and sql_type == "STRING":
        return value.arrow()
    if isinstance(value, Text) and sql_type == "STRING":
        return value.values
    raise ValueError(f"column {column['name']!r} ({sql_type}) cannot hold the value {type(value).__name__}")
