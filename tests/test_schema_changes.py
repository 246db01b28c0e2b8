"""plan_schema_change: what BigQuery lets an existing table become."""

from __future__ import annotations

import copy
from typing import Any

from linehaul.schema import column_type, load_schema, plan_schema_change, row_problems
from linehaul.tables import Table


def _schema() -> list[dict[str, Any]]:
    return copy.deepcopy(list(load_schema(Table.FILE_DOWNLOADS)))  # type: ignore[arg-type]


def _column(schema: list[dict[str, Any]], path: str) -> dict[str, Any]:
    columns = schema
    *parents, name = path.split(".")
    for parent in parents:
        columns = next(c for c in columns if c["name"] == parent)["fields"]
    return next(c for c in columns if c["name"] == name)


def test_the_same_schema_changes_nothing() -> None:
    for table in Table:
        plan = plan_schema_change(load_schema(table), load_schema(table))
        assert plan.compatible
        assert not plan.changes


def test_new_nullable_columns_and_relaxed_modes_are_allowed() -> None:
    old, new = _schema(), _schema()
    _column(new, "details.installer")["fields"].append(
        {"name": "flavour", "type": "STRING", "mode": "NULLABLE"}
    )
    new.append({"name": "ingested_from", "type": "STRING"})
    _column(new, "url")["mode"] = "NULLABLE"
    plan = plan_schema_change(old, new)
    assert plan.compatible
    assert plan.added == ("details.installer.flavour", "ingested_from")
    assert plan.relaxed == ("url",)


def test_incompatible_changes_are_named_precisely() -> None:
    old, new = _schema(), _schema()
    _column(new, "details")["fields"] = [c for c in _column(new, "details")["fields"] if c["name"] != "cpu"]
    _column(new, "details.ci")["type"] = "STRING"
    _column(new, "country_code")["mode"] = "REQUIRED"
    new.append({"name": "must_have", "type": "STRING", "mode": "REQUIRED"})
    plan = plan_schema_change(old, new)
    assert not plan.compatible
    assert set(plan.problems) == {
        "details.cpu: the table has this column and the new schema removes it",
        "details.ci: the type would change from BOOLEAN to STRING",
        "country_code: the mode would change from NULLABLE to REQUIRED",
        "must_have: a new column must be NULLABLE, not REQUIRED",
    }


def test_type_synonyms_and_case_are_the_same_type() -> None:
    old = [{"name": "a", "type": "RECORD", "fields": [{"name": "b", "type": "INT64"}]}]
    new = [{"name": "A", "type": "STRUCT", "mode": "NULLABLE", "fields": [{"name": "b", "type": "INTEGER"}]}]
    assert plan_schema_change(old, new) == plan_schema_change(old, old)


def test_every_reader_of_schemas_names_a_type_one_way() -> None:
    """column_type is the one place GoogleSQL's names become legacy SQL's: rows checked, encoded and
    planned under a schema that spells its types either way are the same."""
    googlesql: list[dict[str, Any]] = [
        {"name": "n", "type": "int64"},
        {"name": "f", "type": "FLOAT64"},
        {"name": "b", "type": "Bool"},
        {"name": "r", "type": "STRUCT", "fields": [{"name": "s", "type": "STRING"}]},
    ]
    assert [column_type(column) for column in googlesql] == ["INTEGER", "FLOAT", "BOOLEAN", "RECORD"]
    assert row_problems({"n": 1, "f": 1.5, "b": True, "r": {"s": "x"}}, googlesql) == []
    assert row_problems({"b": 1}, googlesql) == ["b: is int, not BOOLEAN"]
