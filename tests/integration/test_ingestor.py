"""The ingestor function (functions/ingestor/main.py) against fake GCS, driven through functions-framework."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from functions_framework import create_app

from linehaul.gcp import GcsBlobStore
from linehaul.local import LocalStack
from linehaul.logs.sample import sample_lines
from linehaul.pipeline.ingest import ingest_log
from linehaul.pipeline.naming import parts_prefix, pending_key, spilled_name
from linehaul.pipeline.ports import StorageError
from linehaul.pipeline.settings import IngestSettings
from linehaul.tables import Output
from linehaul.testing import FlakyProxy, storage_request_kind
from tests.pipeline.helpers import CrashError, Crashing, expected_outputs

pytestmark = pytest.mark.integration

SOURCE = Path(__file__).resolve().parents[2] / "functions" / "ingestor" / "main.py"
LINES = list(sample_lines(3000, seed=21))
LOG = gzip.compress(("\n".join(LINES) + "\n").encode())


@pytest.fixture
def buckets(local_stack: LocalStack) -> tuple[str, str]:
    client, suffix = local_stack.storage_client(), uuid.uuid4().hex[:12]
    logs, staging = f"logs-{suffix}", f"staging-{suffix}"
    client.create_bucket(logs)
    client.create_bucket(staging)
    return logs, staging


@pytest.fixture
def deliver(local_stack: LocalStack, buckets: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """POST a finalize event to the real function file, as Cloud Functions would; returns the status."""
    for name, value in {**local_stack.env, "RESULT_BUCKET": buckets[1]}.items():
        monkeypatch.setenv(name, value)
    client = create_app(  # type: ignore[no-untyped-call]  # functions-framework is untyped
        target="process_fastly_log", source=str(SOURCE), signature_type="cloudevent"
    ).test_client()

    def post(name: str, generation: int | None = None) -> int:
        headers = {
            "ce-id": uuid.uuid4().hex,
            "ce-specversion": "1.0",
            "ce-source": "//storage.googleapis.com/",
            "ce-type": "google.cloud.storage.object.v1.finalized",
            "Content-Type": "application/json",
        }
        data = {"bucket": buckets[0], "name": name, "generation": str(generation) if generation else None}
        return int(client.post("/", headers=headers, data=json.dumps(data)).status_code)

    return post


def _contents(store: GcsBlobStore, bucket: str, prefix: str = "") -> dict[str, bytes]:
    return {info.name: store.get(bucket, info.name)[0] for info in store.list(bucket, prefix)}


def test_a_normal_log(blob_store: GcsBlobStore, buckets: tuple[str, str], deliver: Any) -> None:
    logs, staging = buckets
    generation = blob_store.put(logs, "2026/11/01/edge-1.log.gz", LOG)
    assert deliver("2026/11/01/edge-1.log.gz", generation) == 200
    expected = expected_outputs(LINES)
    staged = _contents(blob_store, staging)
    assert staged["processed/20261101/downloads-edge-1.json"] == expected["downloads"]
    assert staged["processed/20261101/simple-edge-1.json"] == expected["simple"]
    assert staged["unprocessed/20261101/edge-1.txt"] == expected["unprocessed"]
    assert staged["ignored/20261101/edge-1.txt"] == expected["ignored"]
    assert not [name for name in staged if name.startswith("ingesting/")]
    assert _contents(blob_store, logs) == {}


def test_a_log_with_bad_lines_keeps_them_verbatim_with_reasons(
    blob_store: GcsBlobStore, buckets: tuple[str, str], deliver: Any
) -> None:
    logs, staging = buckets
    bad = [
        b"download|not a date|x",
        b"\xff\xfe not utf-8",
        b"",
        b"simple|Sun, 01 Nov 2026 10:00:00 GMT|US|/x|T|C||||a",
    ]
    raw = b"".join(line.encode() + b"\n" for line in LINES[:100]) + b"".join(line + b"\n" for line in bad)
    blob_store.put(logs, "bad.log.gz", gzip.compress(raw))
    assert deliver("bad.log.gz") == 200
    kept = blob_store.get(staging, "unprocessed/20261101/bad.txt")[0]
    assert kept.endswith(b"".join(line + b"\n" for line in bad))
    reasons = [
        json.loads(line)
        for line in blob_store.get(staging, "unprocessed/20261101/bad.reasons.json")[0].splitlines()
    ]
    assert [reason["line"] for reason in reasons[-4:]] == [101, 102, 103, 104]
    assert [reason["field"] for reason in reasons[-4:]] == ["country_code", "line", "line", "url"]


def test_a_corrupt_gzip_is_quarantined_with_its_earlier_lines_kept(
    blob_store: GcsBlobStore, buckets: tuple[str, str], deliver: Any
) -> None:
    logs, staging = buckets
    cut = LOG[: len(LOG) * 2 // 3]
    blob_store.put(logs, "cut.log.gz", cut)
    assert deliver("cut.log.gz") == 200
    data, info = blob_store.get(logs, "quarantine/cut.log.gz")
    assert data == cut  # the log itself is kept, byte for byte
    assert info.metadata["linehaul-damage"] == "the gzip data is cut short (truncated file)"
    assert blob_store.stat(logs, "cut.log.gz") is None
    staged = blob_store.get(staging, "processed/20261101/downloads-cut.json")[0].splitlines()
    expected = expected_outputs(LINES)["downloads"].splitlines()
    assert len(staged) > len(expected) // 3
    assert staged[:-1] == expected[: len(staged) - 1]
    assert deliver("quarantine/cut.log.gz") == 200  # the copy's own event changes nothing
    assert blob_store.stat(logs, "quarantine/cut.log.gz") is not None


def test_an_event_for_a_missing_object_returns_normally(
    blob_store: GcsBlobStore, buckets: tuple[str, str], deliver: Any
) -> None:
    assert deliver("never-existed.log.gz") == 200
    assert _contents(blob_store, buckets[1]) == {}


def test_a_duplicate_delivery_changes_nothing(
    blob_store: GcsBlobStore, buckets: tuple[str, str], deliver: Any
) -> None:
    logs, staging = buckets
    generation = blob_store.put(logs, "dup.log.gz", LOG)
    assert deliver("dup.log.gz", generation) == 200
    first = _contents(blob_store, staging)
    assert deliver("dup.log.gz", generation) == 200
    assert _contents(blob_store, staging) == first


def test_a_crash_between_outputs_and_deleting_the_log_then_a_redelivery(
    blob_store: GcsBlobStore, buckets: tuple[str, str], deliver: Any
) -> None:
    logs, staging = buckets
    generation = blob_store.put(logs, "crash.log.gz", LOG)
    crashing = Crashing(blob_store, "delete", when=lambda bucket, *rest: bucket == logs)
    settings = IngestSettings(staging_bucket=staging)
    with pytest.raises(CrashError):
        ingest_log(crashing, logs, "crash.log.gz", settings, generation=generation)
    after_crash = _contents(blob_store, staging)
    assert "processed/20261101/downloads-crash.json" in after_crash
    assert blob_store.stat(logs, "crash.log.gz") is not None  # the log is still there: nothing lost
    assert deliver("crash.log.gz", generation) == 200  # the redelivery
    assert _contents(blob_store, staging) == after_crash
    assert _contents(blob_store, logs) == {}


# -- the outputs are named when the log has been read: crashes around that moment, and duplicates --------

PART = 256 * 1024  # small chunks: the outputs of these logs spill to resumable uploads of many chunks
BIG_LOG = gzip.compress(("\n".join(sample_lines(12_000, seed=22)) + "\n").encode())


@pytest.fixture(scope="module")
def clean_run(local_stack: LocalStack) -> dict[str, bytes]:
    """What one uninterrupted ingest of the big log stages (in buckets of its own), for comparison."""
    log = BIG_LOG
    client, suffix = local_stack.storage_client(), uuid.uuid4().hex[:12]
    logs, staging = f"clean-logs-{suffix}", f"clean-staging-{suffix}"
    client.create_bucket(logs)
    client.create_bucket(staging)
    store = GcsBlobStore(client, chunk_size=PART)
    store.put(logs, "big.log.gz", log)
    assert ingest_log(store, logs, "big.log.gz", IngestSettings(staging_bucket=staging)).outcome == "ingested"
    return _contents(store, staging)


def test_a_killed_run_leaves_nothing_the_next_run_minds(
    local_stack: LocalStack, buckets: tuple[str, str], clean_run: dict[str, bytes]
) -> None:
    logs, staging = buckets
    store = GcsBlobStore(local_stack.storage_client(), chunk_size=PART)
    store.put(logs, "big.log.gz", BIG_LOG)
    with FlakyProxy(local_stack.gcs_url, classify=storage_request_kind) as proxy:
        script = (
            "from linehaul.gcp import GcsBlobStore, storage_client; "
            "from linehaul.pipeline.ingest import ingest_log; "
            "from linehaul.pipeline.settings import IngestSettings; "
            f"store = GcsBlobStore(storage_client('x', endpoint={proxy.url!r}), chunk_size={PART}); "
            f"ingest_log(store, {logs!r}, 'big.log.gz', IngestSettings(staging_bucket={staging!r}))"
        )
        child = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, **local_stack.env})
        try:
            deadline = time.monotonic() + 120
            while proxy.counts().kinds.get("resumable chunk", 0) < 3 and child.poll() is None:
                assert time.monotonic() < deadline, "the child sent no chunks"
                time.sleep(0.01)
        finally:
            child.kill()  # the process dies mid-upload: nothing of it cleans up
            child.wait()
    assert child.returncode != 0, "the child finished before it could be killed"
    assert list(store.list(staging, "")) == []  # an upload session never finished is no object
    # what a run killed after an output's last chunk, before naming it, leaves:
    store.put(staging, spilled_name(pending_key("big", "killed", Output.DOWNLOADS)), b'{"partial": 1}\n')

    report = ingest_log(store, logs, "big.log.gz", IngestSettings(staging_bucket=staging))

    assert report.outcome == "ingested"
    assert list(store.list(staging, parts_prefix())) == []
    assert _contents(store, staging) == clean_run


def test_a_crash_between_naming_two_outputs_then_a_redelivery(
    local_stack: LocalStack, buckets: tuple[str, str], clean_run: dict[str, bytes]
) -> None:
    logs, staging = buckets
    store = GcsBlobStore(local_stack.storage_client(), chunk_size=PART)
    store.put(logs, "big.log.gz", BIG_LOG)
    settings = IngestSettings(staging_bucket=staging)
    # the second output of rows is about to be named when the process dies (its marker is looked up first)
    crashing = Crashing(store, "stat", after=1, when=lambda bucket, *rest: bucket == staging)

    with pytest.raises(CrashError):
        ingest_log(crashing, logs, "big.log.gz", settings)
    half = _contents(store, staging)
    assert any(name.startswith("processed/") for name in half)
    assert len([name for name in half if name.startswith("processed/")]) == 1

    assert ingest_log(store, logs, "big.log.gz", settings).outcome == "ingested"
    assert _contents(store, staging) == clean_run
    assert store.stat(logs, "big.log.gz") is None


def test_concurrent_duplicate_deliveries_stage_the_same_objects(
    local_stack: LocalStack, buckets: tuple[str, str], clean_run: dict[str, bytes]
) -> None:
    logs, staging = buckets
    store = GcsBlobStore(local_stack.storage_client(), chunk_size=PART)
    generation = store.put(logs, "big.log.gz", BIG_LOG)
    settings = IngestSettings(staging_bucket=staging)

    def deliver_until_acknowledged() -> list[str]:
        """Cloud Functions' retries: a delivery that fails is delivered again."""
        outcomes: list[str] = []
        while not outcomes or outcomes[-1] == "failed":
            try:
                report = ingest_log(store, logs, "big.log.gz", settings, generation=generation)
            except StorageError:  # the other delivery removed the spilled output this one was composing
                outcomes.append("failed")
            else:
                outcomes.append(report.outcome)
        return outcomes

    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _: deliver_until_acknowledged(), range(2)))

    assert all(run[-1] in ("ingested", "missing") for run in runs), runs
    assert "ingested" in {run[-1] for run in runs}
    assert list(store.list(staging, parts_prefix())) == []
    assert _contents(store, staging) == clean_run
    assert store.stat(logs, "big.log.gz") is None
