"""Each row of linehaul.local.bqdestinations' table, proved on the running emulator: query jobs write their
rows into a table or one of its partitions, as BigQuery's do, and each partition says when it was last
written. Without the patches each one fails (``LINEHAUL_BQ_COMPAT=0``)."""

from __future__ import annotations

import contextlib
import uuid
from datetime import date, datetime
from typing import Any

import pytest
from google.cloud import bigquery

from linehaul.gcp import BigQueryAdmin, BigQueryTableLoader
from linehaul.local import LocalStack
from linehaul.pipeline.ports import TableRef
from linehaul.schema import load_schema
from linehaul.tables import Table
from tests.cloud import PROJECT

pytestmark = pytest.mark.integration


def select(*rows: tuple[str, str, int]) -> str:
    """A query of rows (day, project, n): the columns ``date``, ``project``, ``n``."""
    return " UNION ALL ".join(
        f"SELECT DATE '{day}' AS date, '{name}' AS project, {n} AS n" for day, name, n in rows
    )


DAY_ONE = select(("2026-11-01", "numpy", 3), ("2026-11-01", "six", 1))


def write(
    stack: LocalStack, sql: str, destination: str, disposition: str = "WRITE_TRUNCATE", **options: Any
) -> bigquery.QueryJob:
    """Run ``sql`` into ``destination`` (``dataset.table`` or ``dataset.table$YYYYMMDD``) and wait."""
    config = bigquery.QueryJobConfig(
        destination=f"{PROJECT}.{destination}",
        write_disposition=disposition,
        time_partitioning=bigquery.TimePartitioning(type_="DAY", field="date"),
        clustering_fields=["project"],
        **options,
    )
    job = stack.bigquery_client().query(
        sql, job_config=config, job_id=f"q-{uuid.uuid4().hex}", job_retry=None
    )
    with contextlib.suppress(Exception):  # the job's state says it
        job.result()
    return job


def rows(admin: BigQueryAdmin, dataset: str, table: str = "daily") -> list[tuple[Any, ...]]:
    return sorted(
        tuple(row.values())
        for row in admin.query(f"SELECT date, project, n FROM `{PROJECT}.{dataset}.{table}`")
    )


def partitions(admin: BigQueryAdmin, dataset: str) -> dict[tuple[str, str], tuple[int, datetime]]:
    found = admin.query(
        "SELECT table_name, partition_id, total_rows, last_modified_time "
        f"FROM `{PROJECT}.{dataset}.INFORMATION_SCHEMA.PARTITIONS`"
    )
    return {
        (row["table_name"], row["partition_id"]): (row["total_rows"], row["last_modified_time"])
        for row in found
    }


def test_a_query_job_writes_its_rows_into_a_partition_it_creates_laid_out(
    local_stack: LocalStack, bigquery_admin: BigQueryAdmin, dataset: str
) -> None:
    job = write(local_stack, DAY_ONE, f"{dataset}.daily$20261101")
    assert job.error_result is None
    assert rows(bigquery_admin, dataset) == [(date(2026, 11, 1), "numpy", 3), (date(2026, 11, 1), "six", 1)]
    table = local_stack.bigquery_client().get_table(f"{PROJECT}.{dataset}.daily")
    assert (table.time_partitioning.field, table.clustering_fields) == ("date", ["project"])


def test_write_truncate_on_a_partition_replaces_that_partition_alone(
    local_stack: LocalStack, bigquery_admin: BigQueryAdmin, dataset: str
) -> None:
    write(local_stack, DAY_ONE, f"{dataset}.daily$20261101")
    write(
        local_stack,
        select(("2026-11-02", "numpy", 5)),
        f"{dataset}.daily$20261102",
    )
    again = write(
        local_stack,
        select(("2026-11-01", "numpy", 4)),
        f"{dataset}.daily$20261101",
    )
    assert again.error_result is None
    assert rows(bigquery_admin, dataset) == [(date(2026, 11, 1), "numpy", 4), (date(2026, 11, 2), "numpy", 5)]


def test_a_row_of_another_partition_fails_the_job_and_writes_nothing(
    local_stack: LocalStack, bigquery_admin: BigQueryAdmin, dataset: str
) -> None:
    write(local_stack, DAY_ONE, f"{dataset}.daily$20261101")
    failed = write(local_stack, select(("2026-11-03", "six", 9)), f"{dataset}.daily$20261101")
    assert failed.error_result["reason"] == "invalid"
    assert "belong to different partitions" in failed.error_result["message"]
    assert rows(bigquery_admin, dataset) == [(date(2026, 11, 1), "numpy", 3), (date(2026, 11, 1), "six", 1)]


def test_what_bigquery_refuses_before_it_runs_the_query(
    local_stack: LocalStack, bigquery_admin: BigQueryAdmin, dataset: str
) -> None:
    missing = write(local_stack, DAY_ONE, f"missing_{uuid.uuid4().hex[:8]}.daily$20261101")
    assert missing.error_result["reason"] == "notFound"
    never = write(local_stack, DAY_ONE, f"{dataset}.absent", create_disposition="CREATE_NEVER")
    assert never.error_result["reason"] == "notFound"
    write(local_stack, DAY_ONE, f"{dataset}.daily$20261101")
    other = write(
        local_stack, "SELECT DATE '2026-11-01' AS date, 'six' AS project", f"{dataset}.daily$20261101"
    )
    assert other.error_result["reason"] == "invalid"
    assert "Provided Schema does not match" in other.error_result["message"]
    assert rows(bigquery_admin, dataset) == [(date(2026, 11, 1), "numpy", 3), (date(2026, 11, 1), "six", 1)]


def test_each_partition_says_when_it_was_last_written(
    local_stack: LocalStack,
    bigquery_admin: BigQueryAdmin,
    dataset: str,
    table_loader: BigQueryTableLoader,
    stage: Any,
    downloads: list[dict[str, Any]],
    ndjson: Any,
) -> None:
    table = TableRef(PROJECT, dataset, "file_downloads")
    first = dict(downloads[0], timestamp="2026-11-01T10:00:00Z")
    second = dict(downloads[1], timestamp="2026-11-02T10:00:00Z")
    states = []
    for number, batch in enumerate(([first, second], [dict(first, url="/again")])):
        job_id = f"load-{uuid.uuid4().hex}"
        uri = stage(f"{number}.json", ndjson(batch))
        table_loader.start_load(job_id, [uri], table, load_schema(Table.FILE_DOWNLOADS))
        assert table_loader.wait(job_id, 60).succeeded
        states.append(partitions(bigquery_admin, dataset))
    loaded, later = states
    one, two = ("file_downloads", "20261101"), ("file_downloads", "20261102")
    assert (loaded[one][0], later[one][0]) == (1, 2)
    assert later[one][1] > loaded[one][1]  # written again
    assert later[two] == loaded[two]  # left alone
    write(local_stack, DAY_ONE, f"{dataset}.daily$20261101")
    written = partitions(bigquery_admin, dataset)
    assert written[("daily", "20261101")][1] > later[one][1]
    assert written[one] == later[one]
    write(local_stack, DAY_ONE, f"{dataset}.daily$20261101")  # replaced by as many rows: written all the same
    again = partitions(bigquery_admin, dataset)
    assert again[("daily", "20261101")][1] > written[("daily", "20261101")][1]
