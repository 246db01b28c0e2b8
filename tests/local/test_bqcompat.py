"""Each BigQuery behaviour that linehaul.local.bqcompat adds to bqemulator, proved on the running emulator.

Without the patches each one fails: ``LINEHAUL_BQ_COMPAT=0 pytest tests/integration/test_bqcompat.py``.
Where the adapters do not expose a request (WRITE_TRUNCATE, dry runs), the test speaks BigQuery's REST API.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import bqemulator
import pytest
from google.cloud import bigquery

from linehaul.gcp import BigQueryAdmin, BigQueryAdminError, BigQueryTableLoader, schema_fields
from linehaul.local import LocalStack, LocalStackError, bqcompat
from linehaul.pipeline.ports import JobExistsError, TableRef

pytestmark = pytest.mark.integration

Rows = list[dict[str, Any]]
ToNdjson = Callable[[Sequence[dict[str, Any]]], bytes]
BROKEN = b'{"timestamp": "2021-01-07T20:54:54Z", "url": "/x"}\n{"timestamp": \n'


@pytest.fixture
def files(stage: Callable[[str, bytes], str], downloads: Rows, ndjson: ToNdjson) -> dict[str, str]:
    """gs:// URIs of two good files (3 and 1 rows) and a broken one (a good row, then bad JSON)."""
    return {
        "three": stage("three.ndjson", ndjson(downloads[:3])),
        "one": stage("one.ndjson", ndjson(downloads[3:4])),
        "broken": stage("broken.ndjson", BROKEN),
    }


def load(
    loader: BigQueryTableLoader, table: TableRef, schema: Rows, uris: Sequence[str], job_id: str | None = None
) -> Any:
    identifier = job_id or f"load-{uuid.uuid4().hex}"
    loader.start_load(identifier, uris, table, schema)
    return loader.wait(identifier, timeout=60)


def insert_job(stack: LocalStack, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """POST a job to the emulator's REST API, as a BigQuery client does; (HTTP status, response)."""
    request = urllib.request.Request(
        f"{stack.bq_url}/bigquery/v2/projects/{stack.project}/jobs",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_a_known_job_id_is_refused_and_not_run_again(
    table_loader: BigQueryTableLoader,
    bigquery_admin: BigQueryAdmin,
    downloads_table: TableRef,
    downloads_schema: Rows,
    files: dict[str, str],
) -> None:
    load(table_loader, downloads_table, downloads_schema, [files["three"]], job_id="daily-0001")

    with pytest.raises(JobExistsError):
        table_loader.start_load("daily-0001", [files["three"]], downloads_table, downloads_schema)

    assert bigquery_admin.count_rows(downloads_table) == 3


def test_the_id_of_a_failed_job_is_not_reused_either(
    table_loader: BigQueryTableLoader,
    bigquery_admin: BigQueryAdmin,
    downloads_table: TableRef,
    downloads_schema: Rows,
    files: dict[str, str],
) -> None:
    identifier = f"load-{uuid.uuid4().hex}"
    assert load(table_loader, downloads_table, downloads_schema, [files["broken"]], identifier).failed

    with pytest.raises(JobExistsError):
        table_loader.start_load(identifier, [files["three"]], downloads_table, downloads_schema)

    assert bigquery_admin.count_rows(downloads_table) == 0


def test_concurrent_submissions_of_one_id_run_once(
    table_loader: BigQueryTableLoader,
    bigquery_admin: BigQueryAdmin,
    downloads_table: TableRef,
    downloads_schema: Rows,
    files: dict[str, str],
) -> None:
    identifier = f"load-{uuid.uuid4().hex}"

    def submit(_: int) -> str:
        try:
            table_loader.start_load(identifier, [files["three"]], downloads_table, downloads_schema)
        except JobExistsError:
            return "refused"
        return "started"

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(submit, range(4)))

    assert outcomes == ["refused", "refused", "refused", "started"]
    assert table_loader.wait(identifier, timeout=60).succeeded
    assert bigquery_admin.count_rows(downloads_table) == 3


def test_a_failed_load_is_all_or_nothing(
    table_loader: BigQueryTableLoader,
    bigquery_admin: BigQueryAdmin,
    downloads_table: TableRef,
    downloads_schema: Rows,
    files: dict[str, str],
) -> None:
    load(table_loader, downloads_table, downloads_schema, [files["one"]])

    job = load(
        table_loader, downloads_table, downloads_schema, [files["three"], files["broken"], files["one"]]
    )

    assert job.failed
    assert bigquery_admin.count_rows(downloads_table) == 1


def test_a_failed_truncating_load_keeps_the_rows(
    local_stack: LocalStack,
    table_loader: BigQueryTableLoader,
    bigquery_admin: BigQueryAdmin,
    downloads_table: TableRef,
    downloads_schema: Rows,
    files: dict[str, str],
) -> None:
    load(table_loader, downloads_table, downloads_schema, [files["three"]])
    destination = {"projectId": downloads_table.project, "datasetId": downloads_table.dataset}
    configuration = {
        "load": {
            "sourceUris": [files["broken"]],
            "destinationTable": {**destination, "tableId": downloads_table.table},
            "sourceFormat": "NEWLINE_DELIMITED_JSON",
            "writeDisposition": "WRITE_TRUNCATE",
        }
    }

    status, job = insert_job(local_stack, {"configuration": configuration})

    assert status == 200
    assert job["status"]["errorResult"]["reason"] == "invalid"
    assert bigquery_admin.count_rows(downloads_table) == 3


def test_a_failed_load_creates_no_table(
    local_stack: LocalStack,
    table_loader: BigQueryTableLoader,
    bigquery_admin: BigQueryAdmin,
    dataset: str,
    downloads_schema: Rows,
    files: dict[str, str],
) -> None:
    table = TableRef(local_stack.project, dataset, "never")

    assert load(table_loader, table, downloads_schema, [files["broken"]]).failed

    assert bigquery_admin.table_schema(table) is None


def test_output_rows_counts_the_rows_of_the_job(
    table_loader: BigQueryTableLoader,
    bigquery_admin: BigQueryAdmin,
    downloads_table: TableRef,
    downloads_schema: Rows,
    files: dict[str, str],
) -> None:
    first = load(table_loader, downloads_table, downloads_schema, [files["three"]])
    second = load(table_loader, downloads_table, downloads_schema, [files["three"], files["one"]])

    assert (first.output_rows, second.output_rows) == (3, 4)
    assert bigquery_admin.count_rows(downloads_table) == 7


def test_added_columns_can_be_queried_and_loaded(
    table_loader: BigQueryTableLoader,
    bigquery_admin: BigQueryAdmin,
    downloads_table: TableRef,
    downloads_schema: Rows,
    files: dict[str, str],
    stage: Callable[[str, bytes], str],
    downloads: Rows,
    ndjson: ToNdjson,
) -> None:
    load(table_loader, downloads_table, downloads_schema, [files["three"]])
    evolved = json.loads(json.dumps(downloads_schema))
    for field in evolved:
        if field["name"] == "url":
            field["mode"] = "NULLABLE"  # relaxing REQUIRED is allowed
        if field["name"] == "details":
            installer = next(inner for inner in field["fields"] if inner["name"] == "installer")
            installer["fields"].append({"name": "channel", "type": "STRING", "mode": "NULLABLE"})
    evolved.append({"name": "ingested_from", "type": "STRING", "mode": "NULLABLE"})

    bigquery_admin.update_schema(downloads_table, evolved)
    newer = [{**row, "ingested_from": "gs://logs/1.log.gz"} for row in downloads[4:6]]
    newer[0]["details"] = {
        **(newer[0]["details"] or {}),
        "installer": {"name": "pip", "channel": "stable"},
    }
    assert load(table_loader, downloads_table, evolved, [stage("newer.ndjson", ndjson(newer))]).succeeded

    rows = bigquery_admin.query(
        "SELECT ingested_from, details.installer.channel AS channel "
        f"FROM `{downloads_table}` ORDER BY ingested_from NULLS FIRST, channel NULLS LAST"
    )
    assert [(row["ingested_from"], row["channel"]) for row in rows] == [
        *[(None, None)] * 3,
        ("gs://logs/1.log.gz", "stable"),
        ("gs://logs/1.log.gz", None),
    ]


@pytest.mark.parametrize("change", ["drop", "retype", "require", "add required"])
def test_schema_changes_bigquery_refuses(
    bigquery_admin: BigQueryAdmin, downloads_table: TableRef, downloads_schema: Rows, change: str
) -> None:
    fields = json.loads(json.dumps(downloads_schema))
    country = next(field for field in fields if field["name"] == "country_code")
    if change == "drop":
        fields.remove(country)
    elif change == "retype":
        country["type"] = "INTEGER"
    elif change == "require":
        country["mode"] = "REQUIRED"
    else:
        fields.append({"name": "mandatory", "type": "STRING", "mode": "REQUIRED"})

    with pytest.raises(BigQueryAdminError, match="Provided Schema does not match"):
        bigquery_admin.update_schema(downloads_table, fields)

    assert bigquery_admin.table_schema(downloads_table) == downloads_schema


def test_dry_runs_may_repeat_a_job_id(local_stack: LocalStack) -> None:
    body = {
        "jobReference": {"jobId": "dry-run"},
        "configuration": {"dryRun": True, "query": {"query": "SELECT 1"}},
    }

    answers = [insert_job(local_stack, body)[0] for _ in range(2)]

    assert answers == [200, 200]


def test_other_bqemulator_versions_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bqemulator, "__version__", "1.5.0")

    with pytest.raises(LocalStackError, match=r"patches bqemulator 1\.4\.0, but 1\.5\.0 is installed"):
        bqcompat.require_pinned_version()


def test_truncations_to_weeks_start_on_bigquerys_days(local_stack: LocalStack) -> None:
    """WEEK starts on Sunday, ISOWEEK on Monday, WEEK(<day>) on that day; on timestamps and dates."""
    days = [date(2020, 12, 24) + timedelta(days=offset) for offset in range(16)] + [date(2027, 1, 1)]
    moments = [datetime.combine(day, time(13, 30), UTC) for day in days]
    job = local_stack.bigquery_client().query(
        "SELECT DATE(TIMESTAMP_TRUNC(t, WEEK)), DATE(TIMESTAMP_TRUNC(t, ISOWEEK)),\n"
        "  DATE(TIMESTAMP_TRUNC(t, WEEK(WEDNESDAY))), DATE_TRUNC(DATE(t), WEEK(MONDAY)),\n"
        "  DATE_TRUNC(DATE(t), ISOWEEK), DATE_TRUNC(DATE(t), WEEK)\n"
        "FROM UNNEST(@moments) AS t ORDER BY t",
        job_config=bigquery.QueryJobConfig(
            query_parameters=[bigquery.ArrayQueryParameter("moments", "TIMESTAMP", moments)]
        ),
    )

    def back_to(day: date, weekday: int) -> date:  # the last day on or before ``day`` that is ``weekday``
        return day - timedelta(days=(day.weekday() - weekday) % 7)

    sunday, monday, wednesday = 6, 0, 2
    assert [tuple(row.values()) for row in job.result()] == [
        (back_to(day, sunday), back_to(day, monday), back_to(day, wednesday), back_to(day, monday),
         back_to(day, monday), back_to(day, sunday))
        for day in days
    ]  # fmt: skip


def test_a_load_into_a_table_of_another_layout_is_refused_naming_no_file(
    local_stack: LocalStack,
    table_loader: BigQueryTableLoader,
    bigquery_admin: BigQueryAdmin,
    dataset: str,
    downloads_schema: Rows,
    files: dict[str, str],
) -> None:
    unpartitioned = TableRef(local_stack.project, dataset, "unpartitioned")
    local_stack.bigquery_client().create_table(
        bigquery.Table(str(unpartitioned), schema=schema_fields(downloads_schema))
    )

    job = load(table_loader, unpartitioned, downloads_schema, [files["three"]])

    assert job.failed
    assert [(error.reason, error.location) for error in job.errors] == [("invalid", None)]
    assert "Incompatible table partitioning specification" in (job.error or "")
    assert bigquery_admin.count_rows(unpartitioned) == 0


def test_a_load_never_creating_a_missing_table_is_not_found(
    local_stack: LocalStack, dataset: str, files: dict[str, str]
) -> None:
    configuration = {
        "load": {
            "sourceUris": [files["three"]],
            "destinationTable": {"projectId": local_stack.project, "datasetId": dataset, "tableId": "none"},
            "sourceFormat": "NEWLINE_DELIMITED_JSON",
            "createDisposition": "CREATE_NEVER",
        }
    }

    status, job = insert_job(local_stack, {"configuration": configuration})

    assert status == 200
    assert job["status"]["errorResult"] == {
        "reason": "notFound",
        "message": f"Not found: Table {local_stack.project}:{dataset}.none",
    }


def test_a_table_a_load_creates_is_laid_out_as_the_load_says(
    local_stack: LocalStack,
    table_loader: BigQueryTableLoader,
    dataset: str,
    downloads_schema: Rows,
    files: dict[str, str],
) -> None:
    table = TableRef(local_stack.project, dataset, "created_by_a_load")

    assert load(table_loader, table, downloads_schema, [files["three"]]).succeeded
    assert load(table_loader, table, downloads_schema, [files["one"]]).succeeded  # the same layout again

    created = local_stack.bigquery_client().get_table(str(table))
    assert created.time_partitioning is not None
    assert (created.time_partitioning.type_, created.time_partitioning.field) == ("DAY", "timestamp")
    assert created.clustering_fields == ["project"]
