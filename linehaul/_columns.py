"""Private: encoders generated from a BigQuery column list, the one place where a row's shape is written.

A column's value is read from an object by the column's name (``event.url``, ``details.installer``,
``installer.name``): a RECORD column reads its children from the object it found, recursively; a missing
attribute or ``None`` is no value. So a row is shaped by ``schemas/*.json`` alone: adding a column there adds
it to every row, ``null`` until something carries a value of that name (docs/architecture.md, "Adding a
column"). Each column compiles to two functions: :func:`python_encoder` (row data: dicts, text
timestamps, as BigQuery's JSON loads them) and :func:`json_encoder` (that data's compact JSON text, as
``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` writes it, without building it).

A record's encoder is generated source, compiled once (:func:`compile_lambda`, as ``dataclasses`` makes
``__init__``): one dict display or one f-string per record, the speed of the hand-written encoders it
replaces.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from linehaul._fields import json_text, timestamp_text
from linehaul.schema import Column, column_type

__all__ = [
    "column_name",
    "compile_lambda",
    "escaped",
    "json_encoder",
    "json_expression",
    "python_encoder",
    "record_json_encoder",
    "record_python_encoder",
]

PythonEncoder = Callable[[Any], Any]
JsonEncoder = Callable[[Any], str]


def compile_lambda(source: str, names: Mapping[str, Any]) -> Callable[..., Any]:
    """The function of ``source`` (a ``lambda`` expression generated here), which sees only ``names``."""
    function: Callable[..., Any] = eval(source, {"__builtins__": {}, **names})  # our own source
    return function


def escaped(text: str) -> str:
    """Literal text for an f-string: its braces doubled."""
    return text.replace("{", "{{").replace("}", "}}")


def column_name(column: Column) -> str:
    """The column's name; ValueError unless it is a BigQuery column name (letters, digits, ``_``)."""
    name = str(column["name"])
    if not _NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a column name (letters, digits and _, not first)")
    return name


def _memoized(form: str, columns: Sequence[Column], build: Callable[[], Any]) -> Any:
    """One compiled encoder per form (JSON text, Python) and column list (both tables share ``details``:
    compiled once)."""
    key = (form, json.dumps(list(columns), sort_keys=True))
    found = _COMPILED.get(key)
    if found is None:
        found = _COMPILED[key] = build()
    return found


def record_python_encoder(columns: Sequence[Column]) -> Callable[[Any], dict[str, Any]]:
    """``obj`` → ``{column: value, ...}`` for every column, in order (an object, not None)."""
    encoder: Callable[[Any], dict[str, Any]] = _memoized("python", columns, lambda: _python_record(columns))
    return encoder


def _python_record(columns: Sequence[Column]) -> Callable[[Any], dict[str, Any]]:
    names: dict[str, Any] = dict(_NAMES)
    items = []
    for index, child in enumerate(columns):
        names[f"_n{index}"] = column_name(child)
        value, sql_type = f"(_x{index} := _get(v, _n{index}, None))", column_type(child)
        if sql_type == "RECORD":
            names[f"_r{index}"] = record_python_encoder(child["fields"])
            items.append(f"_n{index}: None if {value} is None else _r{index}(_x{index})")
        elif sql_type == "TIMESTAMP":
            items.append(f"_n{index}: None if {value} is None else _timestamp(_x{index})")
        else:
            items.append(f"_n{index}: _get(v, _n{index}, None)")
    return compile_lambda("lambda v: {" + ", ".join(items) + "}", names)


def python_encoder(column: Column) -> PythonEncoder:
    """The row data of ``column`` for a value (None stays None)."""
    sql_type = column_type(column)
    if sql_type == "RECORD":
        record = record_python_encoder(column["fields"])
        return lambda value: None if value is None else record(value)
    if sql_type == "TIMESTAMP":
        return lambda value: None if value is None else _timestamp(value)
    return _same


def json_expression(column: Column, value: str, index: int, names: dict[str, Any]) -> str:
    """Source of an expression for the JSON text of ``column``'s value, read by the source ``value``;
    what it needs is added to ``names`` (under names numbered ``index``)."""
    sql_type, bound = column_type(column), f"(_x{index} := {value})"
    names.update(_NAMES)
    if sql_type == "STRING":
        return f"_null if {bound} is None else _quote(_x{index})"
    if sql_type == "BOOLEAN":
        return f"_null if {bound} is None else _true if _x{index} else _false"
    if sql_type == "RECORD":
        names[f"_r{index}"] = record_json_encoder(column["fields"])
        return f"_null if {bound} is None else _r{index}(_x{index})"
    names[f"_e{index}"] = json_encoder(column)
    return f"_e{index}({value})"


def record_json_encoder(columns: Sequence[Column]) -> JsonEncoder:
    """``obj`` → the JSON object text of :func:`record_python_encoder`'s record (an object, not None)."""
    encoder: JsonEncoder = _memoized("json", columns, lambda: _json_record(columns))
    return encoder


def _json_record(columns: Sequence[Column]) -> JsonEncoder:
    if not columns:
        return lambda value: "{}"
    names: dict[str, Any] = {}
    pieces = []
    for index, child in enumerate(columns):
        name = names[f"_n{index}"] = column_name(child)
        key = ("{" if index == 0 else ",") + json.dumps(name) + ":"
        expression = json_expression(child, f"_get(v, _n{index}, None)", index, names)
        pieces.append(escaped(key) + "{" + expression + "}")
    return compile_lambda("lambda v: f" + repr("".join(pieces) + "}}"), names)


def json_encoder(column: Column) -> JsonEncoder:
    """The JSON text of ``column``'s row data for a value (``null`` for None)."""
    sql_type = column_type(column)
    if sql_type == "RECORD":
        record = record_json_encoder(column["fields"])
        return lambda value: "null" if value is None else record(value)
    if sql_type == "TIMESTAMP":
        return lambda value: "null" if value is None else '"' + _timestamp(value) + '"'
    if sql_type == "STRING":
        return json_text
    if sql_type == "BOOLEAN":
        return lambda value: "null" if value is None else "true" if value else "false"
    return _dumps


def _same(value: Any) -> Any:
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _timestamp(value: datetime | str) -> str:
    """A datetime as RFC 3339 text; text that already is a timestamp as it is."""
    return value if isinstance(value, str) else timestamp_text(value)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMPILED: dict[tuple[str, str], Any] = {}
_NAMES: dict[str, Any] = {
    "_get": getattr,
    "_null": "null",
    "_true": "true",
    "_false": "false",
    "_quote": json.encoder.encode_basestring,
    "_timestamp": _timestamp,
}
"""What generated encoders see besides their own names."""
