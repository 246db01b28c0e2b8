"""``linehaul schema apply`` against the BigQuery emulator: create, leave alone, evolve, refuse."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from linehaul.cli import main
from linehaul.daily.shape import DAILY_TABLES
from linehaul.gcp import BigQueryAdmin
from linehaul.gcp.schema_apply import apply_schemas
from linehaul.local import LocalStack
from linehaul.pipeline.ports import TableRef
from linehaul.schema import load_schema
from linehaul.tables import Table
from tests.cloud import PROJECT

pytestmark = pytest.mark.integration


def test_create_then_nothing_to_do(
    local_stack: LocalStack, bigquery_admin: BigQueryAdmin, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for name, value in local_stack.env.items():
        monkeypatch.setenv(name, value)
    dataset = f"apply_{uuid.uuid4().hex[:12]}"
    assert main(["schema", "apply", "--project", PROJECT, "--dataset", dataset]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{PROJECT}.{dataset}.file_downloads: created",
        f"{PROJECT}.{dataset}.simple_requests: created",
        *(f"{PROJECT}.{dataset}.{daily.name}: created" for daily in DAILY_TABLES),
    ]
    for table in Table:
        assert bigquery_admin.table_schema(TableRef(PROJECT, dataset, table)) == list(load_schema(table))
    client = local_stack.bigquery_client()
    for daily in DAILY_TABLES:
        assert bigquery_admin.table_schema(TableRef(PROJECT, dataset, daily.name)) == list(daily.schema)
        created = client.get_table(f"{PROJECT}.{dataset}.{daily.name}")
        assert (created.time_partitioning.field, created.clustering_fields) == ("date", ["project"])
    assert main(["schema", "apply", "--project", PROJECT, "--dataset", dataset]) == 0
    assert capsys.readouterr().out.count(": unchanged") == 2 + len(DAILY_TABLES)


def test_the_tables_of_rows_alone(
    local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in local_stack.env.items():
        monkeypatch.setenv(name, value)
    dataset = f"apply_{uuid.uuid4().hex[:12]}"
    assert main(["schema", "apply", "--project", PROJECT, "--dataset", dataset, "--no-daily"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{PROJECT}.{dataset}.file_downloads: created",
        f"{PROJECT}.{dataset}.simple_requests: created",
    ]


def _older(schema: Any) -> list[dict[str, Any]]:
    """The schema as an older table had it: without details.rustc_version."""
    older: list[dict[str, Any]] = copy.deepcopy([dict(column) for column in schema])
    details = next(column for column in older if column["name"] == "details")
    details["fields"] = [field for field in details["fields"] if field["name"] != "rustc_version"]
    return older


def test_a_compatible_change_is_applied(bigquery_admin: BigQueryAdmin, dataset: str) -> None:
    table = TableRef(PROJECT, dataset, "file_downloads")
    bigquery_admin.create_table(table, _older(load_schema(Table.FILE_DOWNLOADS)))
    bigquery_admin.create_table(
        TableRef(PROJECT, dataset, "simple_requests"), load_schema(Table.SIMPLE_REQUESTS)
    )
    tables = {table: table.value for table in Table}
    outcomes = apply_schemas(bigquery_admin, PROJECT, dataset, tables)
    assert [(o.action, o.details) for o in outcomes] == [
        ("updated", ("added details.rustc_version",)),
        ("unchanged", ()),
        *((("created", ()),) * len(DAILY_TABLES)),
    ]
    assert bigquery_admin.table_schema(table) == list(load_schema(Table.FILE_DOWNLOADS))


def test_an_incompatible_change_is_refused_and_nothing_changes(
    bigquery_admin: BigQueryAdmin, dataset: str, monkeypatch: pytest.MonkeyPatch, local_stack: LocalStack,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for name, value in local_stack.env.items():
        monkeypatch.setenv(name, value)
    existing = copy.deepcopy([dict(column) for column in load_schema(Table.FILE_DOWNLOADS)])
    existing.append({"name": "legacy", "type": "STRING", "mode": "NULLABLE"})  # the new schema drops it
    bigquery_admin.create_table(TableRef(PROJECT, dataset, "file_downloads"), existing)
    assert main(["schema", "apply", "--project", PROJECT, "--dataset", dataset]) == 1
    error = capsys.readouterr().err
    assert "file_downloads: refused: legacy: the table has this column and the new schema removes it" in error
    assert (
        bigquery_admin.table_schema(TableRef(PROJECT, dataset, "simple_requests")) is None
    )  # not created either
    assert bigquery_admin.table_schema(TableRef(PROJECT, dataset, "file_downloads")) == existing
