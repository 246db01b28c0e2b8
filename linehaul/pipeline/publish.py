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

Failed loads (:mod:`linehaul.pipeline.failures`): the files a failed job's errors name (``invalid`` at the
file's URI) are moved to ``quarantine/`` with the error, and the rest of the batch is loaded again. A
failure that names no file (a missing dataset, a table of another schema or partitioning, access, quota,
a backend error) is not the files' fault: the run *stops* (:attr:`PublishReport.failure`), every staged
file stays, the lease is released with the batch and the failure, and runs try that batch again only
``retry_seconds`` later. A run spends at most :data:`MAX_FAILED_JOBS` failed load jobs.

What a run loads: a run with a partition, that partition's files (one batch per table, or batches until it
is empty with ``continue_publishing``); a run without (the scheduler's), every partition that has staged
files, oldest first, in batches (a batch may span partitions) until nothing is left. Either way within
``PUBLISH_TIME_BUDGET`` seconds, the wait for a load job included: a run whose budget ends while its job
runs stops and leaves the batch in the lease, and the next run waits for that same job.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

from linehaul.pipeline.backlog import staged_partitions, tally_outputs
from linehaul.pipeline.daily import DailyTally, finish_daily_batch, is_daily_batch, keep_daily_tables
from linehaul.pipeline.daily_ports import Aggregator
from linehaul.pipeline.failures import LoadFailure, files_at_fault, main_error
from linehaul.pipeline.lease import Lease, LeaseLostError, read_lease
from linehaul.pipeline.naming import (
    LOAD_ERROR_METADATA,
    loaded_marker,
    marked_name,
    object_uri,
    partition_in,
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
from linehaul.pipeline.publish_report import PublishReport
from linehaul.pipeline.request import PublishRequest
from linehaul.pipeline.retries import DEFAULT_RETRIES, Retries
from linehaul.pipeline.settings import PublishSettings
from linehaul.schema import load_schema
from linehaul.tables import Output, Table

__all__ = ["MAX_FAILED_JOBS", "PublishReport", "batch_job_id", "publish"]

MAX_FAILED_JOBS = 3
"""Failed load jobs a run may spend: BigQuery counts failed jobs in its 1,500 load jobs per table per day
(docs/pipeline.md, "When a load fails")."""
_WORKERS = 16


class _StopError(Exception):
    """The run stops here (the report says why); the lease keeps the batch in flight."""


def batch_job_id(table: TableRef, names: Sequence[str], attempt: int) -> str:
    """The load job id of ``names`` into ``table``: the same batch always gets the same id."""
    digest = hashlib.sha256("\n".join([str(table), *sorted(names)]).encode()).hexdigest()[:40]
    return f"linehaul_{table.table}_{digest}_{attempt}"


class _Publisher:
    """One run: holds the collaborators and the tally."""

    def __init__(self, store: BlobStore, loader: TableLoader, settings: PublishSettings, lease: Lease,
                 now: Callable[[], datetime], retries: Retries, report: PublishReport,
                 deadline: Callable[[], float], aggregator: Aggregator | None = None) -> None:  # fmt: skip
        self.store, self.loader, self.settings, self.lease, self.now = store, loader, settings, lease, now
        self.retries, self.report, self.remaining = retries, report, deadline
        self.aggregator, self.daily = aggregator, DailyTally()  # issue 29: the daily tables
        self.bucket = settings.staging_bucket
        # staged-name prefix -> names with a marker at its first listing
        self.markers: dict[str, set[str]] = {}
        self.loaded_now: set[str] = set()  # names this run loaded
        self.published: set[str] = set()  # partitions it published files of

    # -- one batch -------------------------------------------------------------------------------------

    def publish_batch(self, table: Table, names: list[str], failed: LoadFailure | None = None) -> None:
        """Load ``names`` (staged files of ``table``) into each of its destinations, then mark and delete
        them. The lease records the batch as ``{"kind": <output word>, "names": [...]}``."""
        names = sorted(names)
        self.lease.record({"kind": table.output.value, "names": names}, self.now())
        loaded = names
        for destination in self.settings.destinations(table):
            loaded = self.load(table, destination, loaded, failed)
        self.each(lambda name: self.store.put(self.bucket, loaded_marker(name), b""), loaded)
        self.loaded_now.update(loaded)
        self.each(lambda name: self.store.delete(self.bucket, name), loaded)
        self.lease.record(None, self.now())
        self.report.batches += 1
        self.report.files += len(loaded)
        self.published.update(partition for name in loaded if (partition := partition_in(name)))

    def load(
        self, table: Table, destination: TableRef, names: list[str], failed: LoadFailure | None
    ) -> list[str]:
        """Load ``names`` into ``destination`` once; returns the names loaded (the files a failure names
        are quarantined). Stops the run at a failure that names no file."""
        attempt = _first_attempt(failed, destination, names)
        while names:
            job, spent = self.run_job(table, destination, names, attempt)
            if job.succeeded:
                self.report.rows += job.output_rows or 0
                return names
            self.report.jobs_failed += spent
            blamed = files_at_fault(job, self.bucket, names)
            if not blamed and not spent:  # an earlier run's failure: what caused it may be fixed now
                attempt += 1
                continue
            if not blamed:
                self.stop_publishing(destination, job, attempt)
            for name, error in blamed.items():
                self.quarantine(name, error)
            names, attempt = [name for name in names if name not in blamed], 0
            if self.report.jobs_failed >= MAX_FAILED_JOBS:
                self.report.stopped = "failed jobs"
                raise _StopError
        return names

    def run_job(
        self, table: Table, destination: TableRef, names: list[str], attempt: int
    ) -> tuple[LoadJob, bool]:
        """The finished load job of ``names`` under that attempt's id (submitted unless it exists), and
        whether this run submitted it. Stops the run if its time budget ends first."""
        job_id = batch_job_id(destination, names, attempt)
        job = self.retries.call(lambda: self.loader.job(job_id))
        spent = job is None
        if job is None:
            uris = [object_uri(self.bucket, name) for name in names]
            try:  # tried again if it fails: a retry of an insert that landed finds our job (409)
                self.retries.call(
                    lambda: self.loader.start_load(job_id, uris, destination, load_schema(table))
                )
                self.report.jobs_submitted += 1
            except JobExistsError:
                self.report.jobs_reused += 1
        else:
            self.report.jobs_reused += 1
        if job is None or job.state != "DONE":
            job = self.retries.call(lambda: self.loader.wait(job_id, self.remaining()))
        if job.state != "DONE":  # the lease keeps the batch: the next run waits for this job
            self.report.stopped = "time budget"
            raise _StopError
        return job, spent

    def stop_publishing(self, destination: TableRef, job: LoadJob, attempt: int) -> NoReturn:
        """Stop the run on ``job``'s failure, which no file caused: the lease will keep it with the batch."""
        error, now = main_error(job), self.now()
        retry_after = now + timedelta(seconds=self.settings.retry_seconds)
        failure = LoadFailure(
            str(destination), job.job_id, attempt, error.reason, error.message, now, retry_after
        )
        self.report.stopped, self.report.failure = "load failed", failure.to_json()
        raise _StopError

    def quarantine(self, name: str, error: str) -> None:
        target = quarantined_staged_name(name)
        metadata = {LOAD_ERROR_METADATA: error[:1000]}
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

    def publish_all(self, request: PublishRequest) -> None:
        """The inherited batch first, if any (unless its failure is too recent to try again); then batches
        of the partitions asked for, oldest first, alternating between the tables."""
        inherited = self.lease.inherited
        if is_daily_batch(inherited):  # aggregation jobs left running: done before any load (issue 29)
            if self.aggregator is not None and not self.daily_step(inherited):
                return
            inherited = None
        if inherited:
            table = Output(inherited["kind"]).table
            if table is None:
                raise ValueError(f"the lease records a batch of {inherited['kind']!r}, not of a table")
            failed = LoadFailure.from_json(inherited["failed"]) if inherited.get("failed") else None
            if failed is not None and self.now() < failed.retry_after:
                self.report.stopped, self.report.failure = "held off", failed.to_json()
                raise _StopError
            self.publish_batch(table, list(inherited["names"]), failed)
        partitions = (
            [request.partition]
            if request.partition
            else staged_partitions(self.store, self.bucket, self.retries)
        )
        self.report.partitions_seen = len(partitions)
        queues = {table: list(partitions) for table in Table}
        while True:
            batches = 0
            for table in Table:
                if self.remaining() <= 0:
                    self.report.stopped = "time budget"
                    return
                names = self.next_batch(table, queues[table])
                if names:
                    self.publish_batch(table, names)
                    batches += 1
            if not batches or (request.partition and not request.continue_publishing):
                self.daily_step()
                return

    def daily_step(self, inherited: dict[str, Any] | None = None) -> bool:
        """Finish the aggregation jobs a run left (``inherited``), or aggregate the days due; False, the
        run stopping, when the time budget ran out while they ran (:mod:`linehaul.pipeline.daily`)."""
        if self.aggregator is None:
            return True
        at, retries, left, tally = self.now, self.retries, self.remaining, self.daily
        if inherited is not None:
            finished = finish_daily_batch(self.aggregator, inherited, self.lease, at, retries, left, tally)
        else:
            store, settings, lease = self.store, self.settings, self.lease
            finished = keep_daily_tables(self.aggregator, store, settings, lease, at, retries, left, tally)
        if not finished:
            self.report.stopped = "time budget"
        return finished

    # -- choosing what to load -------------------------------------------------------------------------

    def next_batch(self, table: Table, partitions: list[str]) -> list[str]:
        """Up to MAX_BLOBS_PER_RUN staged files of ``table`` not loaded yet, from ``partitions`` (oldest
        first; a partition found empty is taken off the list)."""
        names: list[str] = []
        while partitions and len(names) < self.settings.max_blobs_per_run:
            wanted = self.settings.max_blobs_per_run - len(names)
            found = self.pending(partitions[0], table, wanted)
            names += found
            if len(found) < wanted:
                partitions.pop(0)
        return names

    def pending(self, partition: str, table: Table, limit: int) -> list[str]:
        """Up to ``limit`` staged files of one table and partition that are not loaded yet.

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
            if len(names) >= limit:
                break
        self.each(lambda name: self.store.delete(self.bucket, name), done)
        self.report.already_loaded += len(done)
        return names

    def tally_left(self) -> None:
        """Count what is left staged, for the run's log line."""
        tallies = tally_outputs(self.store, self.bucket, Output.of_rows(), self.retries).values()
        partitions = sorted({partition for tally in tallies for partition in tally.partitions})
        oldest = min((tally.total.oldest for tally in tallies if tally.total.oldest), default=None)
        self.report.files_left = sum(tally.total.files for tally in tallies)
        self.report.partitions_left = len(partitions)
        self.report.oldest_partition_left = partitions[0] if partitions else None
        if oldest is not None:
            self.report.oldest_staged_seconds = round(max(0.0, (self.now() - oldest).total_seconds()), 1)
        self.report.partitions = sorted(self.published)


def publish(
    store: BlobStore,
    loader: TableLoader,
    settings: PublishSettings,
    request: PublishRequest,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    clock: Callable[[], float] = time.monotonic,
    owner: str | None = None,
    retries: Retries = DEFAULT_RETRIES,
    aggregator: Aggregator | None = None,
) -> PublishReport:
    """One publisher run (see the module docstring). Returns what it did, and why it stopped early if it
    did (``report.publishing_stopped``: a load failure no file caused); LeaseLostError if overrun.

    With an ``aggregator``, the run also keeps the daily tables in step (:mod:`linehaul.pipeline.daily`).

    ``owner`` is the run's token in the lease (random by default); ``retries`` how port calls that fail
    transiently are tried again (:class:`~linehaul.pipeline.retries.Retries`, by default 3 attempts).
    """
    started = clock()
    owner = owner or uuid.uuid4().hex
    report, counting = PublishReport(), threading.Lock()
    told = retries.noticed

    def noticed(error: BaseException) -> None:
        told(error)
        with counting:
            report.recovered += 1

    retries = replace(retries, noticed=noticed)
    lease = Lease.acquire(store, settings.staging_bucket, owner, settings.lock_seconds, now(), retries)
    if lease is None:
        held = read_lease(store, settings.staging_bucket, retries)
        report.lease = "busy"
        report.holder = None if held is None else {"owner": held.owner, "expires": held.expires.isoformat()}
        report.seconds = clock() - started
        return report
    if lease.taken_over is not None:
        dead = lease.taken_over
        report.lease_taken_over = {"owner": dead.owner, "expired": dead.expires.isoformat()}
    run = _Publisher(store, loader, settings, lease, now, retries, report,
                     lambda: max(0.0, started + settings.time_budget - clock()), aggregator)  # fmt: skip
    try:
        run.publish_all(request)
    except _StopError:
        pass
    except LeaseLostError:
        raise  # another run holds the lease now: it is not ours to release
    except Exception as error:
        _release_after(error, lease, now())
        raise
    lease.release(now(), report.failure)
    if aggregator is not None:
        report.daily = asdict(run.daily)
    run.tally_left()
    report.seconds = clock() - started
    return report


def _first_attempt(failed: LoadFailure | None, destination: TableRef, names: Sequence[str]) -> int:
    """The attempt to look up first for ``names`` into ``destination``: after the one that ``failed`` (when
    it was that very job: every attempt before it failed too), else the first."""
    if failed is not None and failed.job == batch_job_id(destination, names, failed.attempt):
        return failed.attempt + 1
    return 0


def _release_after(error: Exception, lease: Lease, now: datetime) -> None:
    """Release the lease after ``error`` (best effort): the next run then continues at once, with the batch
    this run had in flight. A failure to release is noted on ``error``, never raised instead of it."""
    try:
        lease.release(now)
    except Exception as failure:
        error.add_note(
            f"and the lease could not be released ({failure!r}): the next run waits for it to expire"
        )
