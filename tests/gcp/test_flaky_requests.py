"""The adapters when a request fails, through the flaky proxy: a write that landed but answered 503 is
retried by the client library, and what the retry sees is what the pipeline must resolve."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from google.cloud import bigquery
from google.cloud.storage.retry import DEFAULT_RETRY

from linehaul.gcp import BigQueryAdmin, BigQueryTableLoader, GcsBlobStore, bigquery_client, storage_client
from linehaul.local import LocalStack
from linehaul.pipeline.ports import (
    JobExistsError,
    PreconditionFailedError,
    StorageError,
    TableLoaderError,
    TableRef,
)
from linehaul.testing import FlakyProxy
from tests.cloud import FAILING_REQUESTS

pytestmark = [pytest.mark.integration, *FAILING_REQUESTS]


@contextmanager
def storage_through(proxy: FlakyProxy, project: str, **options: Any) -> Iterator[GcsBlobStore]:
    """A store talking through ``proxy``; its connections closed at the end."""
    client = storage_client(project, endpoint=proxy.url)
    try:
        yield GcsBlobStore(client, **options)
    finally:
        client.close()


@contextmanager
def loader_through(proxy: FlakyProxy, project: str, **options: Any) -> Iterator[BigQueryTableLoader]:
    """A table loader talking through ``proxy``; its connections closed at the end."""
    client = bigquery_client(project, endpoint=proxy.url)
    try:
        yield BigQueryTableLoader(client, **options)
    finally:
        client.close()  # type: ignore[no-untyped-call]  # google-cloud-bigquery leaves it unannotated


def test_a_conditional_write_whose_answer_was_lost_fails_its_own_precondition(
    local_stack: LocalStack, bucket: str
) -> None:
    with FlakyProxy(local_stack.gcs_url) as proxy, storage_through(proxy, local_stack.project) as store:
        proxy.fail_next(after=True, method="POST")
        with pytest.raises(PreconditionFailedError):  # the library's retry of our own landed create
            store.put(bucket, "publisher.lock", b"ours", if_generation_match=0)
    assert local_stack.blob_store().get(bucket, "publisher.lock")[0] == b"ours"


def test_an_unconditional_write_whose_answer_was_lost_is_retried_to_success(
    local_stack: LocalStack, bucket: str
) -> None:
    with FlakyProxy(local_stack.gcs_url) as proxy, storage_through(proxy, local_stack.project) as store:
        proxy.fail_next(after=True, method="POST")
        store.put(bucket, "marker", b"")
        proxy.fail_next(after=True, method="DELETE")
        assert store.delete(bucket, "marker") is False  # the retry of the landed delete: 404, "missing"
        assert proxy.counts().failed_after == 2
    assert local_stack.blob_store().stat(bucket, "marker") is None


def test_what_outlasts_the_library_retries_is_a_storage_error(local_stack: LocalStack, bucket: str) -> None:
    quick = DEFAULT_RETRY.with_timeout(1.0)
    with (
        FlakyProxy(local_stack.gcs_url, fail_before=1.0) as proxy,
        storage_through(proxy, local_stack.project, retry=quick) as store,
    ):
        with pytest.raises(StorageError, match="503"):
            store.put(bucket, "never", b"x")
        with pytest.raises(StorageError):
            store.stat(bucket, "never")


def test_a_job_insert_whose_answer_was_lost_finds_its_own_job(
    local_stack: LocalStack,
    bigquery_admin: BigQueryAdmin,
    downloads_table: TableRef,
    downloads_schema: list[dict[str, Any]],
    downloads: list[dict[str, Any]],
    stage: Any,
    ndjson: Any,
) -> None:
    uri = stage("staged/rows.json", ndjson(downloads))
    job_id = f"load-{uuid.uuid4().hex}"
    with FlakyProxy(local_stack.bq_url) as proxy, loader_through(proxy, local_stack.project) as loader:
        proxy.fail_next(after=True, method="POST")
        with pytest.raises(JobExistsError):  # the library's retry of the landed insert: 409, our job
            loader.start_load(job_id, [uri], downloads_table, downloads_schema)
        assert loader.wait(job_id, timeout=60).succeeded
    assert bigquery_admin.count_rows(downloads_table) == len(downloads)


def test_a_failed_job_lookup_is_a_table_loader_error(local_stack: LocalStack) -> None:
    quick = bigquery.DEFAULT_RETRY.with_timeout(1.0)
    with (
        FlakyProxy(local_stack.bq_url, fail_before=1.0) as proxy,
        loader_through(proxy, local_stack.project, retry=quick) as loader,
        pytest.raises(TableLoaderError, match="503"),
    ):
        loader.job("any")
