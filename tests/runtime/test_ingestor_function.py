"""The ingestor function served by a real functions-framework process, over HTTP: events that name no object
are acknowledged (200) and logged once as an ERROR, a configuration error still fails (503, retried after a
redeploy), a good event after bad ones is ingested, and logs that follow one another on one instance (its
converter kept) are staged as each alone would be."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest

from linehaul.gcp import GcsBlobStore
from linehaul.local import FunctionServer, LocalStack
from linehaul.local.runner import function_source
from linehaul.logs.sample import sample_lines
from linehaul.runtime.entry import STORAGE_OBJECT_FINALIZED
from tests.pipeline.helpers import expected_outputs

pytestmark = pytest.mark.integration

SOURCE = "//storage.googleapis.com/projects/_/buckets/logs"


@pytest.fixture
def ingestor(local_stack: LocalStack, bucket: str) -> Iterator[FunctionServer]:
    env = {**local_stack.env, "RESULT_BUCKET": bucket}
    with FunctionServer(
        function_source("linehaul.runtime.ingestor"), "process_fastly_log", env=env
    ) as server:
        yield server


def _errors(server: FunctionServer) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    return [record for record in records if record.get("severity") == "ERROR"]


@pytest.mark.parametrize(
    ("event_type", "data", "said"),
    [
        (STORAGE_OBJECT_FINALIZED, {"bucket": "logs"}, "needs a bucket and a name"),
        (STORAGE_OBJECT_FINALIZED, {"name": "a.log.gz", "bucket": ""}, "needs a bucket and a name"),
        (STORAGE_OBJECT_FINALIZED, b"{not json at all", "not a JSON object"),
        (STORAGE_OBJECT_FINALIZED, b"[1, 2]", "not a JSON object"),
        (
            STORAGE_OBJECT_FINALIZED,
            {"bucket": "logs", "name": "a.log.gz", "generation": "x"},
            "invalid literal",
        ),
        (
            "google.cloud.storage.object.v1.deleted",
            {"bucket": "logs", "name": "a.log.gz"},
            "not an object event",
        ),
    ],
    ids=["no name", "empty bucket", "not JSON", "a JSON list", "a bad generation", "another event type"],
)
def test_an_event_that_names_no_object_is_acknowledged_and_logged_once(
    ingestor: FunctionServer, event_type: str, data: dict[str, Any] | bytes, said: str
) -> None:
    before = len(_errors(ingestor))

    delivery = ingestor.deliver(event_type, SOURCE, data)

    assert delivery.status == 200
    errors = _errors(ingestor)[before:]
    assert len(errors) == 1
    assert said in errors[0]["message"]
    assert len(errors[0]["message"]) < 500  # what was received, cut short


def test_a_good_event_after_a_bad_one_is_ingested(
    ingestor: FunctionServer, blob_store: GcsBlobStore, bucket: str
) -> None:
    assert ingestor.deliver(STORAGE_OBJECT_FINALIZED, SOURCE, b"garbage").status == 200
    log = gzip.compress("".join(line + "\n" for line in sample_lines(500, seed=3)).encode())
    generation = blob_store.put(bucket, "cdn/a.log.gz", log)

    assert ingestor.storage_finalized(bucket, "cdn/a.log.gz", generation).ok

    assert blob_store.stat(bucket, "cdn/a.log.gz") is None
    assert any(info.name.startswith("processed/") for info in blob_store.list(bucket, ""))


def test_logs_one_after_another_on_one_instance_are_staged_as_alone(
    ingestor: FunctionServer, blob_store: GcsBlobStore, bucket: str
) -> None:
    logs = {f"cdn/{seed}.log.gz": list(sample_lines(1500, seed=seed)) for seed in (31, 32, 33)}
    for name, lines in logs.items():
        generation = blob_store.put(bucket, name, gzip.compress(("\n".join(lines) + "\n").encode()))
        assert ingestor.storage_finalized(bucket, name, generation).ok

    staged = [info.name for info in blob_store.list(bucket, "processed/")]
    for name, lines in logs.items():
        downloads = [path for path in staged if path.endswith(f"/downloads-{name[4:-7]}.json")]
        assert len(downloads) == 1, staged
        assert blob_store.get(bucket, downloads[0])[0] == expected_outputs(lines)["downloads"]


def test_a_configuration_error_still_fails(local_stack: LocalStack) -> None:
    env = {**local_stack.env, "RESULT_BUCKET": "Not A Bucket"}
    with FunctionServer(
        function_source("linehaul.runtime.ingestor"), "process_fastly_log", env=env
    ) as server:
        delivery = server.storage_finalized("logs", "a.log.gz", 1)
        assert delivery.status == 503
        (error,) = _errors(server)
        assert "RESULT_BUCKET" in error["message"]
