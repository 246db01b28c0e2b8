"""Fault injection against the local cloud: every row reaches BigQuery exactly once, whatever happens.

Each scenario stages files or ingests logs in fake GCS, makes the publisher (or the ingestor) fail at one
point, lets the pipeline settle (later runs, after the crashed run's lease expires), then counts the rows
in the BigQuery emulator. The closing figures of each scenario are printed (run with -s to see them).
"""

from __future__ import annotations

import gzip
import threading
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from linehaul.gcp import BigQueryAdmin, BigQueryTableLoader, GcsBlobStore
from linehaul.local import LocalStack
from linehaul.logs.sample import sample_lines
from linehaul.pipeline.ingest import ingest_log
from linehaul.pipeline.ports import TableRef
from linehaul.pipeline.publish import PublishReport, publish
from linehaul.pipeline.request import PublishRequest
from linehaul.pipeline.settings import IngestSettings, PublishSettings
from linehaul.schema import load_schema
from linehaul.tables import Table
from tests.cloud import PROJECT
from tests.pipeline.helpers import CrashError, Crashing, simple_rows, stage

pytestmark = pytest.mark.integration

PARTITION = "20261101"
ALL = PublishRequest(partition=PARTITION, continue_publishing=True)


class Cloud:
    """A fresh staging bucket and dataset (both tables created), and the ports to reach them."""

    def __init__(
        self, stack: LocalStack, store: GcsBlobStore, loader: BigQueryTableLoader, admin: BigQueryAdmin
    ):
        suffix = uuid.uuid4().hex[:12]
        self.store, self.loader, self.admin = store, loader, admin
        self.bucket, self.dataset = f"staging-{suffix}", f"exactly_once_{suffix}"
        stack.storage_client().create_bucket(self.bucket)
        admin.ensure_dataset(PROJECT, self.dataset)
        for table in Table:
            admin.create_table(TableRef(PROJECT, self.dataset, table), load_schema(table))
        self.settings = PublishSettings(PROJECT, self.bucket, ((PROJECT, self.dataset),), "file_downloads",
                                        "simple_requests", lock_seconds=60)  # fmt: skip
        self.clock = datetime.now(UTC)

    def rows(self, table: str = "file_downloads") -> int:
        return self.admin.count_rows(TableRef(PROJECT, self.dataset, table))

    def publish(
        self, request: PublishRequest = ALL, store: Any = None, loader: Any = None, **changes: Any
    ) -> PublishReport:
        settings = replace(self.settings, **changes)
        return publish(store or self.store, loader or self.loader, settings, request, now=lambda: self.clock)

    def later(self) -> None:
        """Move past the lease of a crashed run."""
        self.clock += timedelta(seconds=self.settings.lock_seconds + 1)

    def staged(self) -> list[str]:
        return [info.name for info in self.store.list(self.bucket, "processed/")]


@pytest.fixture
def cloud(local_stack: LocalStack, blob_store: GcsBlobStore, table_loader: BigQueryTableLoader,
          bigquery_admin: BigQueryAdmin) -> Cloud:  # fmt: skip
    return Cloud(local_stack, blob_store, table_loader, bigquery_admin)


def test_two_publisher_runs_at_the_same_time(cloud: Cloud) -> None:
    expected = stage(cloud.store, PARTITION, 6, bucket=cloud.bucket)
    start, reports = threading.Barrier(2), []

    def run() -> None:
        start.wait()
        reports.append(cloud.publish())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cloud.publish()  # settle: whatever one run left, the next loads
    leases = [report.lease for report in reports]
    print(f"\ntwo runs at once: leases {leases}, expected {expected}, counted {cloud.rows()}")
    assert cloud.rows() == expected
    assert cloud.rows("simple_requests") == simple_rows(6)
    assert cloud.staged() == []


@pytest.mark.parametrize(
    ("port", "method", "when"),
    [
        ("loader", "wait", lambda *args: True),  # the load job was submitted; the run dies waiting for it
        ("store", "put", lambda bucket, name, *rest: name.startswith("loaded/")),  # dies while marking
        ("store", "delete", lambda bucket, name, *rest: name.startswith("processed/")),  # dies while deleting
    ],
    ids=["after-submit", "while-marking", "while-deleting"],
)
def test_a_crash_then_a_rerun(cloud: Cloud, port: str, method: str, when: Any) -> None:
    expected = stage(cloud.store, PARTITION, 4, bucket=cloud.bucket)
    crashing: Any = Crashing(getattr(cloud, port), method, after=1, when=when)
    ports: dict[str, Any] = {port: crashing}
    with pytest.raises(CrashError):
        cloud.publish(ALL, **ports)
    busy = cloud.publish()  # the crashed run still holds the lease: nothing happens
    cloud.later()
    settled = cloud.publish()
    print(f"\ncrash {method}: rerun before expiry {busy.lease}, after: reused {settled.jobs_reused} jobs; "
          f"expected {expected}, counted {cloud.rows()}")  # fmt: skip
    assert busy.lease == "busy"
    assert cloud.rows() == expected
    assert cloud.rows("simple_requests") == simple_rows(4)
    assert cloud.staged() == []


def test_a_load_job_that_fails_quarantines_the_file_at_fault(cloud: Cloud) -> None:
    expected = stage(cloud.store, PARTITION, 5, bucket=cloud.bucket)
    bad = f"processed/{PARTITION}/downloads-log00003.json"
    bad_rows = len(cloud.store.get(cloud.bucket, bad)[0].splitlines())
    cloud.store.put(cloud.bucket, bad, b'{"timestamp": "2026-11-01T00:00:00Z", "url": "/x"}\n{"not json\n')
    report = cloud.publish()
    counted = cloud.rows()
    print(
        f"\nfailing load: quarantined {report.quarantined}; expected {expected - bad_rows}, counted {counted}"
    )
    assert report.quarantined == [f"quarantine/{bad}"]
    assert cloud.rows() == expected - bad_rows
    data, info = cloud.store.get(cloud.bucket, f"quarantine/{bad}")
    assert data.endswith(b'{"not json\n')
    assert info.metadata["linehaul-load-error"]
    assert cloud.staged() == []


def test_an_ingestor_redelivery_after_its_outputs_were_published(
    cloud: Cloud, local_stack: LocalStack
) -> None:
    logs = f"logs-{uuid.uuid4().hex[:12]}"
    local_stack.storage_client().create_bucket(logs)
    lines = list(sample_lines(2000, seed=5))
    generation = cloud.store.put(logs, "cdn-5.log.gz", gzip.compress(("\n".join(lines) + "\n").encode()))
    settings = IngestSettings(staging_bucket=cloud.bucket)
    crashing = Crashing(cloud.store, "delete", when=lambda bucket, *rest: bucket == logs)
    with pytest.raises(CrashError):  # outputs staged, the log not deleted: Cloud Functions will redeliver
        ingest_log(crashing, logs, "cdn-5.log.gz", settings, generation=generation)
    first = cloud.publish()
    expected = cloud.rows()
    redelivered = ingest_log(cloud.store, logs, "cdn-5.log.gz", settings, generation=generation)
    second = cloud.publish()
    print(
        f"\nredelivery after publishing: {first.rows} rows loaded, the redelivery staged "
        f"{list(redelivered.staged)} and skipped {list(redelivered.already_loaded)}; counted {cloud.rows()}"
    )
    assert expected == redelivered.counts.file_downloads > 0
    assert cloud.rows() == expected
    assert second.files == 0
    assert cloud.store.stat(logs, "cdn-5.log.gz") is None


def test_more_staged_files_than_max_blobs_per_run(cloud: Cloud) -> None:
    expected = stage(cloud.store, PARTITION, 12, bucket=cloud.bucket)
    runs = 0
    while cloud.staged():
        cloud.publish(PublishRequest(partition=PARTITION), max_blobs_per_run=5)
        runs += 1
        assert runs < 10
    print(f"\n24 files, 5 per batch: {runs} runs; expected {expected}, counted {cloud.rows()}")
    assert runs == 3  # 12 + 12 files, at most 5 of each table per run
    assert cloud.rows() == expected
    assert cloud.rows("simple_requests") == simple_rows(12)
