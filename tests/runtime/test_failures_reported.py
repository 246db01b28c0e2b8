"""Every failure of either function, served by a real functions-framework process over HTTP, is one JSON line
of severity ERROR that Error Reporting groups (its stack trace in the message, ``@type``, ``serviceContext``
from Cloud Run's ``K_SERVICE`` and ``K_REVISION``) with the log or partition it concerns, and no traceback
elsewhere in the output; the event fails (503) where a retry can help, and a log that has failed for most of
the retry window is moved to quarantine instead (a dead letter)."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from linehaul.gcp import GcsBlobStore
from linehaul.local import FunctionServer, LocalStack
from linehaul.local.runner import function_source
from linehaul.logs.sample import sample_lines
from linehaul.pipeline.quarantine import DEAD_LETTER_AFTER, REASON_METADATA, SOURCE_METADATA
from linehaul.pipeline.settings import TABLE_SETTINGS
from linehaul.runtime.entry import STORAGE_OBJECT_FINALIZED
from linehaul.runtime.reporting import REPORTED_ERROR_EVENT
from linehaul.tables import Table
from tests.cloud import PROJECT

pytestmark = pytest.mark.integration

LOG = gzip.compress("".join(line + "\n" for line in sample_lines(300, seed=5)).encode())
INGESTOR = {"K_SERVICE": "linehaul-ingestor", "K_REVISION": "linehaul-ingestor-00003-kav"}
PUBLISHER = {"K_SERVICE": "linehaul-publisher", "K_REVISION": "linehaul-publisher-00003-mip"}


def records(server: FunctionServer) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.output(tail=None).splitlines() if line.startswith("{")]


def assert_reported_once(server: FunctionServer, service: dict[str, str]) -> dict[str, Any]:
    """The one ERROR line of the server's output, as Error Reporting reads it; no traceback outside it."""
    errors = [record for record in records(server) if record["severity"] == "ERROR"]
    assert len(errors) == 1, errors
    (error,) = errors
    assert error["@type"] == REPORTED_ERROR_EVENT
    assert error["serviceContext"] == {"service": service["K_SERVICE"], "version": service["K_REVISION"]}
    elsewhere = [line for line in server.output(tail=None).splitlines() if not line.startswith("{")]
    assert not any("Traceback" in line for line in elsewhere), elsewhere
    return error


@pytest.fixture
def missing_bucket() -> str:
    return f"missing-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def ingestor(local_stack: LocalStack, missing_bucket: str) -> Iterator[FunctionServer]:
    """An ingestor whose staging bucket does not exist: every log it reads fails to stage."""
    env = {**local_stack.env, **INGESTOR, "RESULT_BUCKET": missing_bucket}
    source = function_source("linehaul.runtime.ingestor")
    with FunctionServer(source, "process_fastly_log", env=env) as server:
        yield server


def _finalized(server: FunctionServer, bucket: str, name: str, generation: int, created: datetime) -> int:
    """A storage event for an object written at ``created`` (an event retried for that long)."""
    data = {
        "bucket": bucket,
        "name": name,
        "generation": str(generation),
        "timeCreated": created.isoformat().replace("+00:00", "Z"),
    }
    source = f"//storage.googleapis.com/projects/_/buckets/{bucket}"
    return server.deliver(STORAGE_OBJECT_FINALIZED, source, data).status


def test_an_ingestor_failure_is_reported_once_with_its_log_and_retried(
    ingestor: FunctionServer, blob_store: GcsBlobStore, bucket: str
) -> None:
    generation = blob_store.put(bucket, "cdn/a.log.gz", LOG)

    status = _finalized(ingestor, bucket, "cdn/a.log.gz", generation, datetime.now(UTC))

    assert status == 503
    error = assert_reported_once(ingestor, INGESTOR)
    first, *trace = error["message"].splitlines()
    assert first.startswith(f"ingesting gs://{bucket}/cdn/a.log.gz failed: ")
    assert "Traceback (most recent call last):" in trace
    assert (error["source"], error["generation"]) == (f"gs://{bucket}/cdn/a.log.gz", generation)
    assert blob_store.stat(bucket, "cdn/a.log.gz") is not None  # kept, for the next delivery


def test_a_log_that_keeps_failing_is_moved_to_quarantine_and_said_once(
    ingestor: FunctionServer, blob_store: GcsBlobStore, bucket: str, missing_bucket: str
) -> None:
    generation = blob_store.put(bucket, "cdn/b.log.gz", LOG)
    written = datetime.now(UTC) - DEAD_LETTER_AFTER - timedelta(minutes=1)

    status = _finalized(ingestor, bucket, "cdn/b.log.gz", generation, written)

    assert status == 200  # acknowledged: the log is safe in quarantine
    error = assert_reported_once(ingestor, INGESTOR)
    assert error["quarantined_as"] == f"gs://{bucket}/quarantine/cdn/b.log.gz"
    assert error["outcome"] == "dead-lettered"
    assert "re-drive it" in error["message"].splitlines()[0]
    assert blob_store.stat(bucket, "cdn/b.log.gz") is None
    data, info = blob_store.get(bucket, "quarantine/cdn/b.log.gz")
    assert data == LOG
    assert info.metadata[SOURCE_METADATA] == f"gs://{bucket}/cdn/b.log.gz"
    assert missing_bucket in info.metadata[REASON_METADATA]


def test_a_log_failing_early_in_the_retry_window_is_not_quarantined(
    ingestor: FunctionServer, blob_store: GcsBlobStore, bucket: str
) -> None:
    generation = blob_store.put(bucket, "cdn/c.log.gz", LOG)
    written = datetime.now(UTC) - DEAD_LETTER_AFTER + timedelta(minutes=5)

    assert _finalized(ingestor, bucket, "cdn/c.log.gz", generation, written) == 503
    assert [info.name for info in blob_store.list(bucket, "quarantine/")] == []


def _publisher(stack: LocalStack, bucket: str) -> FunctionServer:
    env = {
        **stack.env,
        **PUBLISHER,
        "GCP_PROJECT": PROJECT,
        "RESULT_BUCKET": bucket,
        "BIGQUERY_DATASET": f"{PROJECT}.unused",
        **{str(TABLE_SETTINGS[table]): table.value for table in Table},
    }
    source = function_source("linehaul.runtime.publisher")
    return FunctionServer(source, "load_processed_files_into_bigquery", env=env)


def test_a_publisher_failure_is_reported_once_with_its_partition_and_retried(
    local_stack: LocalStack, missing_bucket: str
) -> None:
    with _publisher(local_stack, missing_bucket) as server:
        delivery = server.pubsub_message(b"publish", {"partition": "20261205"})
        error = assert_reported_once(server, PUBLISHER)

    assert delivery.status == 503
    assert error["message"].startswith("the publisher run failed: ")
    assert "Traceback (most recent call last):" in error["message"]
    assert error["partition"] == "20261205"


def test_a_bad_message_is_reported_where_it_was_refused_and_acknowledged(
    local_stack: LocalStack, bucket: str
) -> None:
    with _publisher(local_stack, bucket) as server:
        delivery = server.pubsub_message(b"publish", {"continue_publishing": "yes"})
        error = assert_reported_once(server, PUBLISHER)

    assert delivery.status == 200
    assert error["message"].startswith("ignored a publish request: ")
    assert error["context"]["reportLocation"]["functionName"].endswith("load_processed_files_into_bigquery")
    assert error["context"]["reportLocation"]["filePath"].endswith("linehaul/runtime/publisher.py")
