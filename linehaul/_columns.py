"""Private: encoders generated from a BigQuery column list, the one place where a row's shape is written.

A column's value is read from an object by the column's name (``event.url``, ``details.installer``,
``installer.name``): a RECORD column reads its children from the object it found, recursively; a missing
attribute or ``None`` is no value. So a row is shaped by ``schemas/*.json`` alone: adding a column there adds
it to every row, ``null`` until something carries a value of that name (docs/architecture.md, "Adding a
column"). Each column compiles to two functions: :func:`python_encoder` (row data: dicts, text
timestamps, as BigQuery's JSON loads them) and :func:`json_encoder` (that data's compact JSON text, as
``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` writes it, without building it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from linehaul._fields import json_text, timestamp_text

__all__ = ["Column", "json_encoder", "python_encoder", "record_json_encoder", "record_python_encoder"]

Column = Mapping[str, Any]
"""One column of a BigQuery JSON schema: ``name``, ``type``, ``mode``, ``fields`` for a RECORD."""

PythonEncoder = Callable[[Any], Any]
JsonEncoder = Callable[[Any], str]
_RECORDS = frozenset({"RECORD", "STRUCT"})


def _is_record(column: Column) -> bool:
    return str(column["type"]).upper() in _RECORDS


def record_python_encoder(columns: Sequence[Column]) -> Callable[[Any], dict[str, Any]]:
    """``obj`` → ``{column: value, ...}`` for every column, in order (an object, not None)."""
    children = tuple((str(child["name"]), python_encoder(child)) for child in columns)

    def record(value: Any) -> dict[str, Any]:
        return {name: encode(getattr(value, name, None)) for name, encode in children}

    return record


def python_encoder(column: Column) -> PythonEncoder:
    """The row data of ``column`` for a value (None stays None)."""
    kind = str(column["type"]).upper()
    if kind in _RECORDS:
        record = record_python_encoder(column["fields"])
        return lambda value: None if value is None else record(value)
    if kind == "TIMESTAMP":
        return lambda value: None if value is None else _timestamp(value)
    return _same


def record_json_encoder(columns: Sequence[Column]) -> JsonEncoder:
    """``obj`` → the JSON object text of :func:`record_python_encoder`'s record (an object, not None)."""
    children = tuple(
        (
            ("{" if index == 0 else ",") + json.dumps(str(child["name"])) + ":",
            str(child["name"]),
            json_encoder(child),
        )
        for index, child in enumerate(columns)
    )
    if not children:
        return lambda value: "{}"

    def record(value: Any) -> str:
        return "".join([key + encode(getattr(value, name, None)) for key, name, encode in children]) + "}"

    return record


def json_encoder(column: Column) -> JsonEncoder:
    """The JSON text of ``column``'s row data for a value (``null`` for None)."""
    kind = str(column["type"]).upper()
    if kind in _RECORDS:
        record = record_json_encoder(column["fields"])
        return lambda value: "null" if value is None else record(value)
    if kind == "TIMESTAMP":
        return lambda value: "null" if value is None else '"' + _timestamp(value) + '"'
    if kind == "STRING":
        return json_text
    if kind in ("BOOLEAN", "BOOL"):
        return lambda value: "null" if value is None else "true" if value else "false"
    return _dumps


def _same(value: Any) -> Any:
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _timestamp(value: datetime | str) -> str:
    """A datetime as RFC 3339 text; text that already is a timestamp as it is."""
    return value if isinstance(value, str) else timestamp_text(value)
