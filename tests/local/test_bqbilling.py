"""linehaul.local.bqbilling: the emulator prices query jobs, so dry runs and maximumBytesBilled behave as
BigQuery's do. Without the patches (``LINEHAUL_BQ_COMPAT=0``) each of these fails."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from google.api_core.exceptions import GoogleAPICallError
from google.cloud import bigquery

from linehaul.gcp import BigQueryTableLoader
from linehaul.local import LocalStack
from linehaul.pipeline.ports import TableRef

pytestmark = pytest.mark.integration

Rows = list[dict[str, Any]]
MIB = 1 << 20


@pytest.fixture
def loaded(
    downloads_table: TableRef,
    table_loader: BigQueryTableLoader,
    stage: Callable[[str, bytes], str],
    downloads: Rows,
    downloads_schema: Rows,
    ndjson: Callable[[Sequence[dict[str, Any]]], bytes],
) -> Callable[[int], str]:
    """Load the first N sample rows more into the table; its name for SQL."""

    def load(rows: int) -> str:
        job = f"load-{uuid.uuid4().hex}"
        table_loader.start_load(
            job, [stage(f"{job}.ndjson", ndjson(downloads[:rows]))], downloads_table, downloads_schema
        )
        assert table_loader.wait(job, timeout=60).error is None
        return f"`{downloads_table}`"

    return load


def _job(stack: LocalStack, sql: str, **config: Any) -> Any:
    return stack.bigquery_client().query(sql, job_config=bigquery.QueryJobConfig(**config))


def test_a_dry_run_says_what_the_query_would_process(
    local_stack: LocalStack, loaded: Callable[[int], str]
) -> None:
    table = loaded(10)
    ten = _job(local_stack, f"SELECT COUNT(*) FROM {table}", dry_run=True).total_bytes_processed
    loaded(30)
    forty = _job(local_stack, f"SELECT COUNT(*) FROM {table}", dry_run=True).total_bytes_processed
    assert 0 < ten < forty
    assert forty == pytest.approx(4 * ten, rel=0.5)  # the size of the rows it reads
    assert _job(local_stack, "SELECT 1", dry_run=True).total_bytes_processed == 0


def test_a_query_over_its_limit_fails_as_bigquerys_does(
    local_stack: LocalStack, loaded: Callable[[int], str]
) -> None:
    table = loaded(5)
    job = _job(local_stack, f"SELECT COUNT(*) FROM {table}", maximum_bytes_billed=10)
    with pytest.raises(GoogleAPICallError) as refused:
        job.result()
    assert refused.value.errors[0]["reason"] == "bytesBilledLimitExceeded"
    assert refused.value.errors[0]["message"] == (
        f"Query exceeded limit for bytes billed: 10. {10 * MIB} or higher required."
    )


def test_bytes_billed_round_up_with_10_mib_per_table(
    local_stack: LocalStack, loaded: Callable[[int], str]
) -> None:
    table = loaded(5)
    job = _job(local_stack, f"SELECT COUNT(*) FROM {table}", maximum_bytes_billed=10 * MIB)
    assert job.result().total_rows == 1
    assert job.total_bytes_billed == 10 * MIB
    assert 0 < job.total_bytes_processed < 10 * MIB
    assert _job(local_stack, "SELECT 1", maximum_bytes_billed=1).result().total_rows == 1  # no table read


def test_the_job_shows_its_limit(local_stack: LocalStack, loaded: Callable[[int], str]) -> None:
    job = _job(local_stack, f"SELECT COUNT(*) FROM {loaded(1)}", maximum_bytes_billed=123_456_789)
    job.result()
    found = local_stack.bigquery_client().get_job(job.job_id)
    assert isinstance(found, bigquery.QueryJob)
    assert found.maximum_bytes_billed == 123_456_789
