"""The BigQuery schemas of the two tables (``schemas/*.json``, the source of truth) and checks against them.

* :func:`load_schema` reads a table's schema (package data, the same files as ``schemas/``);
* :func:`row_problems` says why a row would not load into the table (a pure function, used by tests);
* :func:`plan_schema_change` says whether an existing table can move to a new schema, BigQuery's way;
* :func:`column_type` names a column's type one way (BigQuery has two names for four of them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from linehaul.tables import Table

__all__ = [
    "Column",
    "SchemaPlan",
    "column_type",
    "load_schema",
    "plan_schema_change",
    "row_problems",
    "type_name",
]

Column = Mapping[str, Any]
"""One column of a BigQuery JSON schema: name, type, mode (NULLABLE when absent), fields for a RECORD."""

_SCALARS: dict[str, tuple[type, ...]] = {
    "STRING": (str,),
    "BOOLEAN": (bool,),
    "INTEGER": (int,),
    "FLOAT": (int, float),
}


def load_schema(table: Table) -> tuple[Column, ...]:
    """The schema of ``table``, as its JSON list of columns (``schemas/<table>.json``)."""
    return _load(table)


@cache
def _load(table: Table) -> tuple[Column, ...]:
    # package data beside this module (importlib.resources would cost the core's start-up 20 ms)
    with open(
        os.path.join(os.path.dirname(__file__), "schemas", f"{table.value}.json"), encoding="utf-8"
    ) as file:
        text = file.read()
    return tuple(json.loads(text))


def _timestamp_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return f"is {type(value).__name__}, not an RFC 3339 timestamp"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return f"{value!r} is not an RFC 3339 timestamp"
    offset = moment.utcoffset()
    return None if offset is not None and not offset.total_seconds() else f"{value!r} is not in UTC"


def row_problems(row: Mapping[str, Any], schema: Sequence[Column], where: str = "") -> list[str]:
    """Why ``row`` would not load into a table of ``schema`` (empty if it would).

    Checks every key against the columns (no unknown keys), REQUIRED columns, types (STRING, BOOLEAN,
    INTEGER, FLOAT, TIMESTAMP in UTC) and RECORDs recursively. REPEATED columns are not used here.
    """
    problems: list[str] = []
    columns = {column["name"]: column for column in schema}
    problems += [f"{where}{key}: no such column" for key in row if key not in columns]
    for name, column in columns.items():
        value, path = row.get(name), f"{where}{name}"
        if value is None:
            if column.get("mode") == "REQUIRED":
                problems.append(f"{path}: is required")
            continue
        sql_type = column_type(column)
        if sql_type == "RECORD":
            if isinstance(value, Mapping):
                problems += row_problems(value, column["fields"], f"{path}.")
            else:
                problems.append(f"{path}: is {type(value).__name__}, not a record")
        elif sql_type == "TIMESTAMP":
            problem = _timestamp_problem(value)
            if problem:
                problems.append(f"{path}: {problem}")
        elif not isinstance(value, _SCALARS[sql_type]) or (sql_type != "BOOLEAN" and isinstance(value, bool)):
            problems.append(f"{path}: is {type(value).__name__}, not {sql_type}")
    return problems


_TYPE_NAMES = {"STRUCT": "RECORD", "INT64": "INTEGER", "FLOAT64": "FLOAT", "BOOL": "BOOLEAN"}
"""GoogleSQL's names of the types that legacy SQL (and schemas/*.json) names otherwise."""


def type_name(name: str) -> str:
    """A BigQuery type's one name here: legacy SQL's (``RECORD``, ``INTEGER``, ``FLOAT``, ``BOOLEAN``) for
    GoogleSQL's (``STRUCT``, ``INT64``, ``FLOAT64``, ``BOOL``), in upper case; others as they are."""
    upper = name.upper()
    return _TYPE_NAMES.get(upper, upper)


def column_type(column: Column) -> str:
    """The :func:`type_name` of ``column``'s type."""
    return type_name(str(column.get("type", "")))


@dataclass(frozen=True, slots=True)
class SchemaPlan:
    """What moving a table from one schema to another does: columns added and relaxed, or why it cannot.

    ``problems`` empty means the change is compatible: BigQuery allows it on an existing table and every
    row written under the old schema stays valid.
    """

    added: tuple[str, ...] = ()
    relaxed: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def compatible(self) -> bool:
        return not self.problems

    @property
    def changes(self) -> bool:
        return bool(self.added or self.relaxed)


def _mode(column: Column) -> str:
    return str(column.get("mode") or "NULLABLE").upper()


def plan_schema_change(existing: Sequence[Column], desired: Sequence[Column], where: str = "") -> SchemaPlan:
    """Compare two schemas: no column removed, no type changed, modes only relaxed from REQUIRED to NULLABLE,
    new columns NULLABLE (or REPEATED), recursively into RECORDs. A pure function."""
    added: list[str] = []
    relaxed: list[str] = []
    problems: list[str] = []
    wanted = {column["name"].lower(): column for column in desired}
    for old in existing:
        path = f"{where}{old['name']}"
        new = wanted.pop(old["name"].lower(), None)
        if new is None:
            problems.append(f"{path}: the table has this column and the new schema removes it")
            continue
        if column_type(old) != column_type(new):
            problems.append(f"{path}: the type would change from {column_type(old)} to {column_type(new)}")
            continue
        if _mode(old) != _mode(new):
            if (_mode(old), _mode(new)) == ("REQUIRED", "NULLABLE"):
                relaxed.append(path)
            else:
                problems.append(f"{path}: the mode would change from {_mode(old)} to {_mode(new)}")
        if column_type(old) == "RECORD":
            inner = plan_schema_change(old.get("fields", []), new.get("fields", []), f"{path}.")
            added.extend(inner.added)
            relaxed.extend(inner.relaxed)
            problems.extend(inner.problems)
    for column in wanted.values():
        path = f"{where}{column['name']}"
        if _mode(column) == "REQUIRED":
            problems.append(f"{path}: a new column must be NULLABLE, not REQUIRED")
        else:
            added.append(path)
    return SchemaPlan(tuple(added), tuple(relaxed), tuple(problems))
