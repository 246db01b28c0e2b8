"""The deployed functions over HTTP on the local cloud, on a bad day: logs dated years ago are staged by the
ingestor, then BigQuery cannot take them (the dataset deleted, a table of another schema) or one staged file
is bad. Only the scheduler's messages (no attributes) reach the publisher.

A failure no file caused quarantines nothing, keeps every staged file, is said in one ERROR line per run
(no traceback) and answered 503; ``linehaul status --json`` counts exactly what is staged; once fixed
(``linehaul schema apply``), scheduled messages alone load exactly the parse counts, once. A bad staged file
is the only one quarantined. Run with -s to see the figures.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from linehaul.cli import main
from linehaul.gcp import BigQueryAdmin, GcsBlobStore
from linehaul.local import FunctionServer, LocalStack
from linehaul.local.runner import function_source
from linehaul.logs.counts import ReadCounts
from linehaul.logs.sample import write_sample
from linehaul.pipeline.naming import log_object_name
from linehaul.pipeline.ports import TableRef
from linehaul.pipeline.settings import TABLE_SETTINGS
from linehaul.schema import load_schema
from linehaul.tables import Table
from linehaul.testing.settle import expected_counts
from tests.cloud import PROJECT

pytestmark = pytest.mark.integration

DAYS = ("2019-03-04", "2019-03-05", "2020-02-29", "2020-12-31", "2021-01-07", "2021-01-08")
RETRY_SECONDS = 1.0  # LOAD_RETRY_SECONDS: how long runs wait after a failure before the next load job
MAX_RUNS = 5


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], ReadCounts]:
    """Six generated logs of days years ago, and where their lines go when parsed here."""
    directory = tmp_path_factory.mktemp("corpus")
    starts = [datetime.fromisoformat(day).replace(tzinfo=UTC) for day in DAYS]
    logs = [
        write_sample(directory / f"cdn-{day}.log.gz", lines=600, seed=number, start=start)
        for number, (day, start) in enumerate(zip(DAYS, starts, strict=True), 1)
    ]
    return logs, expected_counts(logs)


class Deployment:
    """Both functions served over HTTP on the local cloud, with their own buckets and dataset."""

    def __init__(self, stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> None:
        suffix = uuid.uuid4().hex[:12]
        self.stack, self.store, self.admin = stack, stack.blob_store(), stack.bigquery_admin()
        self.logs, self.staging, self.dataset = f"logs-{suffix}", f"staging-{suffix}", f"outage_{suffix}"
        for bucket in (self.logs, self.staging):
            stack.storage_client().create_bucket(bucket)
        self.env = {
            **stack.env,
            "GCP_PROJECT": PROJECT,
            "RESULT_BUCKET": self.staging,
            "LOG_BUCKET": self.logs,
            "BIGQUERY_DATASET": f"{PROJECT}.{self.dataset}",
            "LOAD_RETRY_SECONDS": f"{RETRY_SECONDS:g}",
            **{str(TABLE_SETTINGS[table]): table.value for table in Table},
        }
        for name, value in self.env.items():  # linehaul status and schema apply read them too
            monkeypatch.setenv(name, value)
        self.ingestor = FunctionServer(
            function_source("linehaul.runtime.ingestor"), "process_fastly_log", env=self.env
        )
        self.publisher = FunctionServer(
            function_source("linehaul.runtime.publisher"), "load_processed_files_into_bigquery", env=self.env
        )

    def ingest(self, logs: list[Path]) -> None:
        for log in logs:
            name = log_object_name(datetime.now(UTC).date(), log.name)
            generation = self.store.put(self.logs, name, log.read_bytes())
            assert self.ingestor.storage_finalized(self.logs, name, generation).ok

    def scheduled(self) -> int:
        """Deliver the scheduler's message (no attributes); the function's HTTP status."""
        return self.publisher.pubsub_message(b"publish").status

    def staged(self) -> dict[str, int]:
        return {info.name: info.generation for info in self.store.list(self.staging, "processed/")}

    def quarantined(self) -> list[str]:
        return [info.name for info in self.store.list(self.staging, "quarantine/")]

    def records(self) -> list[dict[str, Any]]:
        """The publisher's JSON log lines, in order."""
        lines = self.publisher.output(tail=None).splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def rows(self, table: Table) -> int:
        return self.admin.count_rows(TableRef(PROJECT, self.dataset, table.value))

    def schema_apply(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["schema", "apply", "--project", PROJECT, "--dataset", self.dataset]) == 0
        capsys.readouterr()

    def status(self, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
        capsys.readouterr()
        assert main(["status", "--json"]) == 0
        found: dict[str, Any] = json.loads(capsys.readouterr().out)
        return found

    def publish_until_drained(self) -> int:
        """Scheduled messages until nothing is staged; how many runs that took."""
        runs = 0
        while self.staged():
            runs += 1
            assert runs <= MAX_RUNS, self.publisher.output()
            assert self.scheduled() == 200, self.publisher.output()
        return runs


@pytest.fixture
def deployment(local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    deployed = Deployment(local_stack, monkeypatch)
    with deployed.ingestor, deployed.publisher:
        yield deployed


def assert_stopped_by(deployment: Deployment, staged: dict[str, int], reason: str, table: Table) -> str:
    """Three scheduled runs: each answers 503 and says why in one ERROR line; nothing moves. Returns what
    the first said."""
    statuses = [deployment.scheduled() for _ in range(3)]
    records = deployment.records()
    errors = [record for record in records if record["severity"] == "ERROR"]
    assert statuses == [503, 503, 503]
    assert len(errors) == len(records) == 3  # one line per run, each an ERROR
    target = f"{PROJECT}.{deployment.dataset}.{table.value}"
    assert errors[0]["message"].startswith(f"publishing stopped: load job linehaul_{table.value}_")
    assert f" into {target} failed ({reason}: " in errors[0]["message"]
    assert all(error["message"].startswith("publishing stopped since ") for error in errors[1:])
    assert [error["jobs_failed"] for error in errors] == [1, 0, 0]
    assert "Traceback" not in deployment.publisher.output(tail=None)
    assert deployment.staged() == staged
    assert deployment.quarantined() == []
    return f"answers {statuses}, {errors[0]['message']}"


def assert_status_counts(deployment: Deployment, found: dict[str, Any], reason: str) -> None:
    for table, output in ((Table.FILE_DOWNLOADS, "downloads"), (Table.SIMPLE_REQUESTS, "simple")):
        names = [name for name in deployment.staged() if f"/{output}-" in name]
        sizes = {info.name: info.size for info in deployment.store.list(deployment.staging, "processed/")}
        assert found["staged"][table.value]["files"] == len(names) == len(DAYS)
        assert found["staged"][table.value]["bytes"] == sum(sizes[name] for name in names)
        assert sorted(found["staged"][table.value]["partitions"]) == sorted(
            day.replace("-", "") for day in DAYS
        )
    assert found["lease"]["state"] == "free"
    assert found["lease"]["batch"]["failed"]["reason"] == reason
    assert found["quarantined"] == {"logs": [], "staged": []}


def assert_loaded_once(deployment: Deployment, expected: ReadCounts) -> None:
    assert deployment.rows(Table.FILE_DOWNLOADS) == expected.file_downloads
    assert deployment.rows(Table.SIMPLE_REQUESTS) == expected.simple_requests
    assert deployment.staged() == {}
    assert deployment.quarantined() == []


def test_a_deleted_dataset_stops_publishing_until_schema_apply(
    deployment: Deployment, corpus: tuple[list[Path], ReadCounts], capsys: pytest.CaptureFixture[str]
) -> None:
    logs, expected = corpus
    deployment.schema_apply(capsys)
    deployment.stack.bigquery_client().delete_dataset(f"{PROJECT}.{deployment.dataset}", delete_contents=True)
    deployment.ingest(logs)
    staged = deployment.staged()

    said = assert_stopped_by(deployment, staged, "notFound", Table.FILE_DOWNLOADS)
    assert_status_counts(deployment, deployment.status(capsys), "notFound")

    deployment.schema_apply(capsys)
    time.sleep(RETRY_SECONDS)
    runs = deployment.publish_until_drained()

    with capsys.disabled():
        print(f"\ndataset deleted: {len(staged)} files staged, {said}")
        print(f"after schema apply: {runs} scheduled run(s) loaded {expected.file_downloads} file_downloads "
              f"and {expected.simple_requests} simple_requests rows")  # fmt: skip
    assert runs == 1
    assert_loaded_once(deployment, expected)
    after = deployment.status(capsys)
    assert after["staged"]["file_downloads"]["files"] == after["staged"]["simple_requests"]["files"] == 0
    assert after["lease"]["batch"] is None


def test_a_table_of_another_schema_stops_publishing_until_replaced(
    deployment: Deployment,
    corpus: tuple[list[Path], ReadCounts],
    bigquery_admin: BigQueryAdmin,
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs, expected = corpus
    bigquery_admin.ensure_dataset(PROJECT, deployment.dataset)
    older = [dict(column) for column in load_schema(Table.FILE_DOWNLOADS) if column["name"] != "tls_cipher"]
    downloads = TableRef(PROJECT, deployment.dataset, "file_downloads")
    bigquery_admin.create_table(downloads, older)
    deployment.ingest(logs)
    staged = deployment.staged()

    assert_stopped_by(deployment, staged, "invalid", Table.FILE_DOWNLOADS)
    assert "Provided Schema does not match Table" in deployment.records()[0]["message"]
    assert_status_counts(deployment, deployment.status(capsys), "invalid")

    deployment.stack.bigquery_client().delete_table(str(downloads))  # schema apply refuses to drop a column
    deployment.schema_apply(capsys)
    time.sleep(RETRY_SECONDS)

    assert deployment.publish_until_drained() == 1
    assert_loaded_once(deployment, expected)


def test_one_bad_staged_file_among_good_ones_is_the_only_one_quarantined(
    deployment: Deployment,
    corpus: tuple[list[Path], ReadCounts],
    blob_store: GcsBlobStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs, expected = corpus
    deployment.schema_apply(capsys)
    deployment.ingest(logs)
    bad = next(name for name in deployment.staged() if "/downloads-" in name and "2020-02-29" in name)
    rows = blob_store.get(deployment.staging, bad)[0]
    blob_store.put(deployment.staging, bad, rows + b'{"timestamp": "2020-02-29T00:00:00Z", "url": \n')

    assert deployment.publish_until_drained() == 1

    (record,) = deployment.records()
    assert (record["severity"], record["quarantined"], record["jobs_failed"]) == (
        "WARNING",
        [f"quarantine/{bad}"],
        1,
    )
    assert deployment.quarantined() == [f"quarantine/{bad}"]
    assert deployment.rows(Table.FILE_DOWNLOADS) == expected.file_downloads - rows.count(b"\n")
    assert deployment.rows(Table.SIMPLE_REQUESTS) == expected.simple_requests
    found = deployment.status(capsys)
    (quarantined,) = found["quarantined"]["staged"]
    assert quarantined["uri"] == f"gs://{deployment.staging}/quarantine/{bad}"
    assert quarantined["reason"]
