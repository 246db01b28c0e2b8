"""Publish staged NDJSON into BigQuery exactly once, even across crashes, retries and concurrent runs.

The mechanism, in four parts:

* **one run at a time**: a run holds the lease (:mod:`linehaul.pipeline.lease`) or does nothing;
* **deterministic job ids**: a batch's load job id is a hash of its destination table and its sorted staged
  file names (plus an attempt number). Before submitting, a run looks the id up: a job that succeeded is
  reused, one that failed is retried under the next attempt's id. BigQuery refuses a reused id (409);
* **write-ahead batch**: the lease records the batch before its jobs are submitted, so a run that takes
  over a crashed run's lease finishes that very batch (same names, same ids) before anything else;
* **markers**: after every destination has the batch, each file gets ``loaded/<name>``, then is deleted.
  A staged file with a marker is never loaded again, only deleted (an ingestor redelivery after
  publishing, or a crash between marking and deleting).

A file that makes a load fail (malformed NDJSON, a row the schema refuses) is found by splitting the
batch in halves (each half with its own deterministic ids) and moved to ``quarantine/`` with the error;
the rest of the batch still loads.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from linehaul.pipeline.lease import Lease
from linehaul.pipeline.naming import (
    loaded_marker,
    marked_name,
    object_uri,
    processed_prefix,
    quarantined_staged_name,
)
from linehaul.pipeline.ports import (
    BlobNotFoundError,
    BlobStore,
    JobExistsError,
    LoadJob,
    TableLoader,
    TableRef,
)
from linehaul.pipeline.request import PublishRequest
from linehaul.pipeline.settings import PublishSettings
from linehaul.tables import Output, Table

__all__ = ["PublishReport", "publish"]

_ATTEMPTS = 2  # a batch that fails twice is split to find the file at fault
_JOB_TIMEOUT = 300.0
_WORKERS = 16


@dataclass(slots=True)
class PublishReport:
    """What one publisher run did (a mutable tally while it runs)."""

    lease: str = "held"
    partitions: list[str] = field(default_factory=list)
    batches: int = 0
    files: int = 0
    rows: int = 0
    jobs_submitted: int = 0
    jobs_reused: int = 0
    already_loaded: int = 0
    quarantined: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def log_record(self) -> dict[str, Any]:
        if self.lease == "busy":
            message = "another publisher run holds the lease: nothing to do"
        else:
            message = (
                f"published {self.files} files ({self.rows} rows) in {self.batches} batches, "
                f"{len(self.quarantined)} quarantined"
            )
        severity = "WARNING" if self.quarantined else "INFO"
        return {"severity": severity, "message": message, **asdict(self)}


def batch_job_id(table: TableRef, names: Sequence[str], attempt: int) -> str:
    """The load job id of ``names`` into ``table``: the same batch always gets the same id."""
    digest = hashlib.sha256("\n".join([str(table), *sorted(names)]).encode()).hexdigest()[:40]
    return f"linehaul_{table.table}_{digest}_{attempt}"


class _Publisher:
    """One run: holds the collaborators and the tally."""

    def __init__(self, store: BlobStore, loader: TableLoader, settings: PublishSettings, lease: Lease,
                 now: Callable[[], datetime]) -> None:  # fmt: skip
        self.store, self.loader, self.settings, self.lease, self.now = store, loader, settings, lease, now
        self.bucket = settings.result_bucket
        self.report = PublishReport()
        self.markers: dict[
            str, set[str]
        ] = {}  # staged-name prefix -> names with a marker at its first listing
        self.loaded_now: set[str] = set()  # names this run loaded

    # -- one batch -------------------------------------------------------------------------------------

    def publish_batch(self, table: Table, names: list[str]) -> None:
        """Load ``names`` (staged files of ``table``) into each of its destinations, then mark and delete
        them. The lease records the batch as ``{"kind": <output word>, "names": [...]}``."""
        names = sorted(names)
        self.lease.record({"kind": table.output.value, "names": names}, self.now())
        loaded = names
        for destination in self.settings.destinations(table):
            loaded = self.load(table, destination, loaded)
        self.each(lambda name: self.store.put(self.bucket, loaded_marker(name), b""), loaded)
        self.loaded_now.update(loaded)
        self.each(lambda name: self.store.delete(self.bucket, name), loaded)
        self.lease.record(None, self.now())
        self.report.batches += 1
        self.report.files += len(loaded)

    def load(self, table: Table, destination: TableRef, names: list[str]) -> list[str]:
        """Load ``names`` into ``table`` once; returns the names loaded (bad files are quarantined)."""
        if not names:
            return []
        for attempt in range(_ATTEMPTS):
            job = self.run_job(table, destination, names, attempt)
            if job.succeeded:
                self.report.rows += job.output_rows or 0
                return names
        if len(names) == 1:
            self.quarantine(names[0], job.error or "the load failed")
            return []
        half = len(names) // 2
        return self.load(table, destination, names[:half]) + self.load(table, destination, names[half:])

    def run_job(self, table: Table, destination: TableRef, names: list[str], attempt: int) -> LoadJob:
        job_id = batch_job_id(destination, names, attempt)
        job = self.loader.job(job_id)
        if job is None:
            uris = [object_uri(self.bucket, name) for name in names]
            try:
                self.loader.start_load(job_id, uris, destination, table.schema)
                self.report.jobs_submitted += 1
            except JobExistsError:
                self.report.jobs_reused += 1
        else:
            self.report.jobs_reused += 1
        if job is None or job.state != "DONE":
            job = self.loader.wait(job_id, _JOB_TIMEOUT)
        if job.state != "DONE":  # stop: the lease keeps the batch, and the next run waits for this job
            raise TimeoutError(f"load job {job_id} is still {job.state} after {_JOB_TIMEOUT:.0f} s")
        return job

    def quarantine(self, name: str, error: str) -> None:
        target = quarantined_staged_name(name)
        try:
            self.store.copy(
                self.bucket, name, self.bucket, target, metadata={"linehaul-load-error": error[:1000]}
            )
        except BlobNotFoundError:  # a crashed run moved it already
            if self.store.stat(self.bucket, target) is None:
                raise
        self.store.delete(self.bucket, name)
        self.report.quarantined.append(target)

    def each(self, action: Callable[[str], object], names: Iterable[str]) -> None:
        with ThreadPoolExecutor(_WORKERS) as pool:
            list(pool.map(action, names))

    # -- choosing what to load -------------------------------------------------------------------------

    def pending(self, partition: str, table: Table) -> list[str]:
        """Up to MAX_BLOBS_PER_RUN staged files of one table and partition that are not loaded yet.

        Files already loaded (they have a marker) are deleted on the way, never loaded again. The markers
        of a partition are listed once per run; what this run loads is added as it goes.
        """
        prefix = processed_prefix(partition, table.output)
        loaded = self.markers.get(prefix)
        if loaded is None:
            loaded = self.markers[prefix] = {
                marked_name(info.name) for info in self.store.list(self.bucket, loaded_marker(prefix))
            }
        names: list[str] = []
        done: list[str] = []
        for info in self.store.list(self.bucket, prefix):
            (done if info.name in loaded or info.name in self.loaded_now else names).append(info.name)
            if len(names) >= self.settings.max_blobs_per_run:
                break
        self.each(lambda name: self.store.delete(self.bucket, name), done)
        self.report.already_loaded += len(done)
        return names

    def default_partition(self, table: Table) -> str:
        """Yesterday's partition if it has staged files of ``table``, else today's (production's order)."""
        today = self.now().date()
        yesterday = f"{today - timedelta(days=1):%Y%m%d}"
        has_files = next(
            iter(self.store.list(self.bucket, processed_prefix(yesterday, table.output), limit=1)), None
        )
        return yesterday if has_files else f"{today:%Y%m%d}"


def publish(
    store: BlobStore,
    loader: TableLoader,
    settings: PublishSettings,
    request: PublishRequest,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    clock: Callable[[], float] = time.monotonic,
    owner: str | None = None,
) -> PublishReport:
    """One publisher run (see the module docstring). Returns what it did; LeaseLostError if overrun."""
    started = clock()
    owner = owner or uuid.uuid4().hex
    lease = Lease.acquire(store, settings.result_bucket, owner, settings.lock_seconds, now())
    if lease is None:
        return PublishReport(lease="busy", seconds=clock() - started)
    run = _Publisher(store, loader, settings, lease, now)
    if lease.inherited:
        inherited = Output(lease.inherited["kind"]).table
        if inherited is None:
            raise ValueError(f"the lease records a batch of {lease.inherited['kind']!r}, not of a table")
        run.publish_batch(inherited, list(lease.inherited["names"]))
    for table in Table:
        partition = request.partition or run.default_partition(table)
        run.report.partitions.append(f"{table.output.value}:{partition}")
        while names := run.pending(partition, table):
            run.publish_batch(table, names)
            if not request.continue_publishing or clock() - started > settings.time_budget:
                break
    # Released only after a clean run: a run that fails keeps the lease, with the batch it was loading,
    # until it expires; the next run then finishes that batch with the same job ids.
    lease.release()
    run.report.seconds = clock() - started
    return run.report
