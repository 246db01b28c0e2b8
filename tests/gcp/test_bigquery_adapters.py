"""BigQueryTableLoader and BigQueryAdmin against the real BigQuery emulator, reading what fake GCS holds,
beyond the loader's contract (which tests/pipeline/test_table_loader_contract.py holds)."""

from __future__ import annotations

import gzip
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from linehaul.gcp import BigQueryAdmin, BigQueryAdminError, BigQueryTableLoader
from linehaul.local import LocalStack
from linehaul.pipeline.ports import TableRef

pytestmark = pytest.mark.integration

Rows = list[dict[str, Any]]
Stage = Callable[[str, bytes], str]
ToNdjson = Callable[[Sequence[dict[str, Any]]], bytes]


def job_id() -> str:
    return f"load-{uuid.uuid4().hex}"


def test_load_ndjson_files_from_gcs(
    table_loader: BigQueryTableLoader,
    bigquery_admin: BigQueryAdmin,
    downloads_table: TableRef,
    downloads_schema: Rows,
    downloads: Rows,
    stage: Stage,
    ndjson: ToNdjson,
) -> None:
    uris = [
        stage("staged/1.ndjson", ndjson(downloads[:25])),
        stage("staged/2.json.gz", gzip.compress(ndjson(downloads[25:]))),
    ]
    identifier = job_id()

    table_loader.start_load(identifier, uris, downloads_table, downloads_schema)
    job = table_loader.wait(identifier, timeout=60)

    assert job.succeeded, job.error
    assert (job.job_id, job.output_rows) == (identifier, len(downloads))
    assert bigquery_admin.count_rows(downloads_table) == len(downloads)
    installers = bigquery_admin.query(
        f"SELECT details.installer.name AS installer, COUNT(*) AS n FROM `{downloads_table}` GROUP BY 1"
    )
    expected = Counter(((row["details"] or {}).get("installer") or {}).get("name") for row in downloads)
    assert {row["installer"]: row["n"] for row in installers} == dict(expected)


def test_loaded_values_round_trip(
    table_loader: BigQueryTableLoader,
    bigquery_admin: BigQueryAdmin,
    downloads_table: TableRef,
    downloads_schema: Rows,
    downloads: Rows,
    stage: Stage,
    ndjson: ToNdjson,
) -> None:
    row = downloads[0]
    identifier = job_id()
    table_loader.start_load(
        identifier, [stage("one.ndjson", ndjson([row]))], downloads_table, downloads_schema
    )
    assert table_loader.wait(identifier, timeout=60).succeeded

    (loaded,) = bigquery_admin.query(
        f"SELECT timestamp, url, file.filename AS filename FROM `{downloads_table}`"
    )

    assert loaded["url"] == row["url"]
    assert loaded["filename"] == row["file"]["filename"]
    assert loaded["timestamp"] == datetime.fromisoformat(row["timestamp"]).astimezone(UTC)


def test_a_load_creates_a_missing_table_laid_out_like_the_admin_does(
    local_stack: LocalStack,
    table_loader: BigQueryTableLoader,
    bigquery_admin: BigQueryAdmin,
    dataset: str,
    downloads_schema: Rows,
    downloads: Rows,
    stage: Stage,
    ndjson: ToNdjson,
) -> None:
    table = TableRef(local_stack.project, dataset, "created_by_load")
    identifier = job_id()

    table_loader.start_load(identifier, [stage("a.ndjson", ndjson(downloads[:3]))], table, downloads_schema)

    assert table_loader.wait(identifier, timeout=60).succeeded
    assert bigquery_admin.table_schema(table) == downloads_schema
    assert bigquery_admin.count_rows(table) == 3


def test_admin_creates_tables_from_the_json_schema(
    local_stack: LocalStack, bigquery_admin: BigQueryAdmin, dataset: str, downloads_schema: Rows
) -> None:
    table = TableRef(local_stack.project, dataset, "file_downloads")
    bigquery_admin.ensure_dataset(local_stack.project, dataset)  # a second time: nothing happens
    assert bigquery_admin.table_schema(table) is None

    bigquery_admin.create_table(table, downloads_schema)

    assert bigquery_admin.table_schema(table) == downloads_schema
    created = local_stack.bigquery_client().get_table(str(table))
    assert (created.time_partitioning.type_, created.time_partitioning.field) == ("DAY", "timestamp")
    assert created.clustering_fields == ["project"]
    assert bigquery_admin.count_rows(table) == 0
    with pytest.raises(BigQueryAdminError, match="create table"):
        bigquery_admin.create_table(table, downloads_schema)


def test_admin_adds_a_nullable_column(
    bigquery_admin: BigQueryAdmin, downloads_table: TableRef, downloads_schema: Rows
) -> None:
    evolved = [*downloads_schema, {"name": "ingested_from", "type": "STRING", "mode": "NULLABLE"}]

    bigquery_admin.update_schema(downloads_table, evolved)

    assert bigquery_admin.table_schema(downloads_table) == evolved


def test_admin_errors_name_the_operation(bigquery_admin: BigQueryAdmin, dataset: str) -> None:
    with pytest.raises(BigQueryAdminError, match="query"):
        bigquery_admin.query(f"SELECT nothing FROM `{dataset}.missing`")
    with pytest.raises(BigQueryAdminError, match="update the schema"):
        bigquery_admin.update_schema(TableRef("linehaul-test", dataset, "missing"), [])
