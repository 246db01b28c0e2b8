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

Flaky services: a port call that fails transiently is tried again (:mod:`linehaul.pipeline.retries`); every
step may be repeated without effect (markers, deletes, copies, job inserts under their deterministic ids:
a 409 on our id is our job), and the lease's writes are read back (:mod:`linehaul.pipeline.lease`). A run
that fails anyway releases the lease, its batch kept in it, so the next run finishes that batch at once.

A file that makes a load fail (malformed NDJSON, a row the schema refuses) is found by splitting the
batch in halves (each half with its own deterministic ids) and moved to ``quarantine/`` with the error;
the rest of the batch still loads.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from linehaul.pipeline.lease import Lease, LeaseLostError
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
from linehaul.pipeline.retries import Retries
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
    recovered: int = 0  # port calls that failed (or answered ambiguously) and were tried again or read back
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
                 now: Callable[[], datetime], retries: Retries, report: PublishReport) -> None:  # fmt: skip
        self.store, self.loader, self.settings, self.lease, self.now = store, loader, settings, lease, now
        self.retries = retries
        self.bucket = settings.result_bucket
        self.report = report
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
        job = self.retries.call(lambda: self.loader.job(job_id))
        if job is None:
            uris = [object_uri(self.bucket, name) for name in names]
            try:  # tried again if it fails: a retry of an insert that landed finds our job (409)
                self.retries.call(lambda: self.loader.start_load(job_id, uris, destination, table.schema))
                self.report.jobs_submitted += 1
            except JobExistsError:
                self.report.jobs_reused += 1
        else:
            self.report.jobs_reused += 1
        if job is None or job.state != "DONE":
            job = self.retries.call(lambda: self.loader.wait(job_id, _JOB_TIMEOUT))
        if job.state != "DONE":  # stop: the lease keeps the batch, and the next run waits for this job
            raise TimeoutError(f"load job {job_id} is still {job.state} after {_JOB_TIMEOUT:.0f} s")
        return job

    def quarantine(self, name: str, error: str) -> None:
        target = quarantined_staged_name(name)
        metadata = {"linehaul-load-error": error[:1000]}
        try:
            self.retries.call(
                lambda: self.store.copy(self.bucket, name, self.bucket, target, metadata=metadata)
            )
        except BlobNotFoundError:  # a failed or crashed run moved it already
            if self.retries.call(lambda: self.store.stat(self.bucket, target)) is None:
                raise
        self.retries.call(lambda: self.store.delete(self.bucket, name))
        self.report.quarantined.append(target)

    def each(self, action: Callable[[str], object], names: Iterable[str]) -> None:
        """``action(name)`` for every name, several at a time, each tried again if it fails transiently."""
        with ThreadPoolExecutor(_WORKERS) as pool:
            list(pool.map(lambda name: self.retries.call(lambda: action(name)), names))

    # -- the whole run ----------------------------------------------------------------------------------

    def publish_all(self, request: PublishRequest, started: float, clock: Callable[[], float]) -> None:
        """The inherited batch first, if any; then batches of each table's partition, as asked."""
        inherited = self.lease.inherited
        if inherited:
            table = Output(inherited["kind"]).table
            if table is None:
                raise ValueError(f"the lease records a batch of {inherited['kind']!r}, not of a table")
            self.publish_batch(table, list(inherited["names"]))
        for table in Table:
            partition = request.partition or self.default_partition(table)
            self.report.partitions.append(f"{table.output.value}:{partition}")
            while names := self.pending(partition, table):
                self.publish_batch(table, names)
                if not request.continue_publishing or clock() - started > self.settings.time_budget:
                    break

    # -- choosing what to load -------------------------------------------------------------------------

    def pending(self, partition: str, table: Table) -> list[str]:
        """Up to MAX_BLOBS_PER_RUN staged files of one table and partition that are not loaded yet.

        Files already loaded (they have a marker) are deleted on the way, never loaded again. The markers
        of a partition are listed once per run; what this run loads is added as it goes.
        """
        prefix = processed_prefix(partition, table.output)
        loaded = self.markers.get(prefix)
        if loaded is None:
            markers = self.retries.listing(lambda: self.store.list(self.bucket, loaded_marker(prefix)))
            loaded = self.markers[prefix] = {marked_name(info.name) for info in markers}
        names: list[str] = []
        done: list[str] = []
        for info in self.retries.listing(lambda: self.store.list(self.bucket, prefix)):
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
        prefix = processed_prefix(yesterday, table.output)
        has_files = next(self.retries.listing(lambda: self.store.list(self.bucket, prefix, limit=1)), None)
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
    retries: Retries | None = None,
) -> PublishReport:
    """One publisher run (see the module docstring). Returns what it did; LeaseLostError if overrun.

    ``owner`` is the run's token in the lease (random by default); ``retries`` how port calls that fail
    transiently are tried again (:class:`~linehaul.pipeline.retries.Retries`, by default 3 attempts).
    """
    started = clock()
    owner = owner or uuid.uuid4().hex
    report, counting = PublishReport(), threading.Lock()
    retries = retries or Retries()
    told = retries.noticed

    def noticed(error: BaseException) -> None:
        told(error)
        with counting:
            report.recovered += 1

    retries = replace(retries, noticed=noticed)
    lease = Lease.acquire(store, settings.result_bucket, owner, settings.lock_seconds, now(), retries)
    if lease is None:
        report.lease = "busy"
        report.seconds = clock() - started
        return report
    run = _Publisher(store, loader, settings, lease, now, retries, report)
    try:
        run.publish_all(request, started, clock)
    except LeaseLostError:
        raise  # another run holds the lease now: it is not ours to release
    except Exception as error:
        _release_after(error, lease, now())
        raise
    lease.release(now())
    run.report.seconds = clock() - started
    return run.report


def _release_after(error: Exception, lease: Lease, now: datetime) -> None:
    """Release the lease after ``error`` (best effort): the next run then continues at once, with the batch
    this run had in flight. A failure to release is noted on ``error``, never raised instead of it."""
    try:
        lease.release(now)
    except Exception as failure:
        error.add_note(
            f"and the lease could not be released ({failure!r}): the next run waits for it to expire"
        )
