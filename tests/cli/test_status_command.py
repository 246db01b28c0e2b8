"""``linehaul status`` on the local cloud, through main(): it counts exactly what is staged, kept and
quarantined, shows the lease a stopped publisher run left, reads the functions' settings, and changes
nothing."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import pytest

from linehaul.cli import main
from linehaul.gcp import BigQueryTableLoader, GcsBlobStore
from linehaul.local import LocalStack
from linehaul.pipeline.naming import DAMAGE_METADATA, LOAD_ERROR_METADATA
from linehaul.pipeline.publish import publish
from linehaul.pipeline.request import PublishRequest
from tests.cloud import PROJECT
from tests.pipeline.helpers import SETTINGS, stage

pytestmark = pytest.mark.integration


@pytest.fixture
def logs(local_stack: LocalStack) -> str:
    name = f"logs-{uuid.uuid4().hex[:12]}"
    local_stack.storage_client().create_bucket(name)
    return name


def objects(store: GcsBlobStore, *buckets: str) -> list[tuple[str, str, int]]:
    return [(bucket, info.name, info.generation) for bucket in buckets for info in store.list(bucket, "")]


def status(capsys: pytest.CaptureFixture[str], *options: str) -> tuple[int, str]:
    code = main(["status", *options])
    return code, capsys.readouterr().out


@pytest.fixture
def environment(
    monkeypatch: pytest.MonkeyPatch, local_stack: LocalStack, bucket: str, logs: str
) -> dict[str, str]:
    env = {
        **local_stack.env,
        "RESULT_BUCKET": bucket,
        "LOG_BUCKET": logs,
        "GCP_PROJECT": "proj",
        "BIGQUERY_DATASET": "proj.pypi other.mirror",
        "BIGQUERY_DOWNLOAD_TABLE": "file_downloads",
        "BIGQUERY_SIMPLE_TABLE": "simple_requests",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("QUARANTINE_BUCKET", raising=False)
    return env


def test_status_counts_what_is_staged_kept_and_quarantined(
    blob_store: GcsBlobStore,
    table_loader: BigQueryTableLoader,
    bucket: str,
    logs: str,
    environment: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    stage(blob_store, "20190314", 2, bucket=bucket, lines=50)
    stage(blob_store, "20210107", 1, first_seed=3, bucket=bucket, lines=50)
    blob_store.put(bucket, "unprocessed/20210107/cdn-3.txt", b"bad line\nworse line\n")
    blob_store.put(bucket, "unprocessed/20210107/cdn-3.reasons.json", b"{}\n{}\n")
    blob_store.put(bucket, "ignored/20190314/cdn-1.txt", b"a bot\n")
    blob_store.put(bucket, "quarantine/processed/20190314/downloads-x.json", b"{", metadata={
        LOAD_ERROR_METADATA: "Error while reading data: malformed JSON"})  # fmt: skip
    blob_store.put(logs, "quarantine/2021/01/07/cdn-9.log.gz", b"\x1f\x8b", metadata={
        DAMAGE_METADATA: "Compressed file ended before the end-of-stream marker was reached"})  # fmt: skip
    blob_store.put(logs, "2021/01/08/cdn-10.log.gz", b"\x1f\x8b waiting")
    missing = replace(SETTINGS, project=PROJECT, staging_bucket=bucket, datasets=((PROJECT, "no_such"),))
    stopped = publish(blob_store, table_loader, missing, PublishRequest())  # the lease keeps its failure
    assert stopped.publishing_stopped
    before = objects(blob_store, bucket, logs)

    code, out = status(capsys, "--json")

    assert code == 0
    found = json.loads(out)
    staged = {info.name: info.size for info in blob_store.list(bucket, "processed/")}
    downloads = found["staged"]["file_downloads"]
    assert downloads["files"] == sum("/downloads-" in name for name in staged) == 3
    assert downloads["bytes"] == sum(size for name, size in staged.items() if "/downloads-" in name)
    assert {partition: each["files"] for partition, each in downloads["partitions"].items()} == {
        "20190314": 2,
        "20210107": 1,
    }
    assert downloads["destinations"] == ["proj.pypi.file_downloads", "other.mirror.file_downloads"]
    assert found["staged"]["simple_requests"]["files"] == 3
    unprocessed = found["kept"]["unprocessed"]
    assert (unprocessed["files"], unprocessed["bytes"], list(unprocessed["partitions"])) == (
        1,
        20,
        ["20210107"],
    )
    assert found["kept"]["ignored"]["files"] == 1
    lease = found["lease"]
    assert (lease["state"], lease["batch"]["kind"], lease["batch"]["files"]) == ("free", "downloads", 3)
    assert lease["batch"]["failed"]["reason"] == "notFound"
    assert [item["reason"] for item in found["quarantined"]["staged"]] == [
        "Error while reading data: malformed JSON"
    ]
    assert [item["uri"] for item in found["quarantined"]["logs"]] == [
        f"gs://{logs}/quarantine/2021/01/07/cdn-9.log.gz"
    ]
    assert found["logs"]["files"] == 1
    assert found["upload_parts"] == 0
    assert objects(blob_store, bucket, logs) == before  # it changed nothing


def test_status_in_words(
    blob_store: GcsBlobStore, bucket: str, environment: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    stage(blob_store, "20190314", 1, bucket=bucket, lines=50)

    code, out = status(capsys, "--log-bucket", environment["LOG_BUCKET"])

    assert code == 0
    lines = out.splitlines()
    assert lines[1] == "staged, to load:"
    assert lines[2].startswith("  file_downloads: 1 files, ")
    assert lines[2].endswith("in 1 partitions -> proj.pypi.file_downloads, other.mirror.file_downloads")
    assert lines[3].startswith("    20190314: 1 files, ")
    assert "lease: never taken" in lines
    assert "quarantined logs: 0" in lines
    assert lines[-1] == f"logs not ingested yet in gs://{environment['LOG_BUCKET']}/: 0 files, 0 B"


def test_status_needs_the_staging_bucket(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RESULT_BUCKET", raising=False)
    monkeypatch.setenv("BIGQUERY_DATASET", "proj.bad-name")

    code = main(["status"])

    assert code == 2
    error = capsys.readouterr().err
    assert "RESULT_BUCKET is not set" in error
    assert "BIGQUERY_DATASET entry 'proj.bad-name' is not project.dataset or dataset" in error
