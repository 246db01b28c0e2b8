"""Adding a column, for real, on throw-away copies of the schemas: it reaches both row encoders.

docs/architecture.md ("Adding a column") lists the steps; these tests take them on copies of
``schemas/*.json``: the column goes into the schema, the value into the object that carries it (an event,
or the user agent's details), and both the converter (the path of ``parse``, the ingestor and backfills) and
``to_row`` (the library's path) write it, in schema order, in rows that load into the changed table.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import pytest

from linehaul import Converted, Converter, Ignored, LineError, parse_line
from linehaul.logs.sample import sample_lines
from linehaul.rows import RowFormat, table_for
from linehaul.schema import load_schema, row_problems
from linehaul.tables import Table
from linehaul.useragents import Classification, Classifier, UserAgent

LINES = list(sample_lines(3000, seed=7))
Schema = list[dict[str, Any]]


def _schema(table: Table) -> Schema:
    return [dict(copy.deepcopy(column)) for column in load_schema(table)]


def _column(schema: Schema, name: str) -> dict[str, Any]:
    return next(column for column in schema if column["name"] == name)


def _formats(schemas: dict[Table, Schema]) -> dict[Table, RowFormat]:
    return {table: RowFormat(table, columns) for table, columns in schemas.items()}


def _both_paths(
    formats: dict[Table, RowFormat], classify: Any = None
) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """(the converter's rows, to_row's rows as JSON, to_row's rows) for every line that gives a row."""
    converted = Converted()
    Converter(classify, formats=formats).convert_lines(list(LINES), converted)
    library: list[dict[str, Any]] = []
    tables: list[Table] = []
    for line in LINES:
        try:
            outcome = parse_line(line, classify) if classify is not None else parse_line(line)
        except LineError:
            continue
        if not isinstance(outcome, Ignored):
            tables.append(table_for(outcome))
            library.append(formats[table_for(outcome)].to_row(outcome))
    fast = converted.downloads + converted.simple
    by_table = [row for table, row in zip(tables, library, strict=True) if table is Table.FILE_DOWNLOADS]
    by_table += [row for table, row in zip(tables, library, strict=True) if table is Table.SIMPLE_REQUESTS]
    as_json = [json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in by_table]
    return fast, as_json, by_table


def test_null_columns_added_anywhere_reach_both_paths_in_schema_order() -> None:
    schemas = {table: _schema(table) for table in Table}
    for table, schema in schemas.items():
        schema.insert(3, {"name": "mirror", "type": "STRING", "mode": "NULLABLE"})  # between url and project
        _column(schema, "details")["fields"].append({"name": "vendor", "type": "STRING", "mode": "NULLABLE"})
        if table is Table.FILE_DOWNLOADS:
            _column(schema, "file")["fields"].insert(
                0, {"name": "size", "type": "INTEGER", "mode": "NULLABLE"}
            )
    formats = _formats(schemas)

    fast, library, rows = _both_paths(formats)

    assert len(fast) > 2000
    assert fast == library
    for row in rows:
        table = Table.FILE_DOWNLOADS if "file" in row else Table.SIMPLE_REQUESTS
        assert list(row) == [column["name"] for column in schemas[table]]
        assert row["mirror"] is None
        assert row_problems(row, schemas[table]) == []
        if row["details"] is not None:
            assert list(row["details"])[-1] == "vendor"
        if table is Table.FILE_DOWNLOADS:
            assert next(iter(row["file"])) == "size"
            assert row["file"]["size"] is None


@dataclass(frozen=True, slots=True)
class _VendorAgent(UserAgent):
    """The user agent's details with one more value: the step "carry the value" of adding a column."""

    vendor: str | None = None


class _VendorClassifier:
    def __init__(self) -> None:
        self._rules = Classifier()

    def __call__(self, agent: str) -> Classification:
        found = self._rules(agent)
        if not isinstance(found, UserAgent):
            return found
        values = {name: getattr(found, name) for name in UserAgent.__dataclass_fields__}
        return _VendorAgent(**values, vendor=agent.split("/", 1)[0].lower())


def test_a_details_column_with_a_value_reaches_both_paths() -> None:
    schemas = {table: _schema(table) for table in Table}
    for schema in schemas.values():
        _column(schema, "details")["fields"].append({"name": "vendor", "type": "STRING", "mode": "NULLABLE"})

    fast, library, rows = _both_paths(_formats(schemas), _VendorClassifier())

    assert fast == library
    vendors = {row["details"]["vendor"] for row in rows if row["details"] is not None}
    assert {"pip", "uv"} <= vendors


def test_a_column_moved_among_the_line_columns_is_written_by_the_template_function() -> None:
    schemas = {table: _schema(table) for table in Table}
    for schema in schemas.values():
        details = schema.pop([column["name"] for column in schema].index("details"))
        schema.insert(0, details)  # details first: a row shape the converter does not join itself

    fast, library, rows = _both_paths(_formats(schemas))

    assert fast == library
    assert all(next(iter(row)) == "details" for row in rows)


def test_both_tables_must_share_one_details_column() -> None:
    schemas = {table: _schema(table) for table in Table}
    _column(schemas[Table.SIMPLE_REQUESTS], "details")["fields"].pop()
    with pytest.raises(ValueError, match="share one details column"):
        Converter(formats=_formats(schemas))
