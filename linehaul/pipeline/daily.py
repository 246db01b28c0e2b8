"""When the publisher (re)computes the daily tables, and how it keeps them exactly in step through crashes,
duplicate messages and flaky APIs.

After its loads, a run reads the partition metadata of ``file_downloads`` and of the daily tables (one
query per dataset; no table data) and aggregates the days that are

* **complete**: over for ``DAILY_GRACE_SECONDS`` (default two hours: the CDN's logs of a day arrive within
  minutes of its end), with no staged file of the day, or of the day before (a log that starts before
  midnight holds rows of the next day), left to load; and
* **not in step** (:func:`linehaul.daily.freshness.stale_days`): never aggregated, or rows were loaded into
  the day after its aggregates were written (a late log, a backfill).

So a day's rows are read once when it is complete, and once more for each run that loaded late rows into
it: never on every run. At most ``DAILY_DAYS_PER_RUN`` days a run (default 3; 0 turns the daily tables
off), the most recent first, within the run's time budget.

A day's aggregation is a job per daily table that is not in step (:class:`AggregateJob`), each replacing
that day's partition whole (:class:`~linehaul.pipeline.daily_ports.Aggregator`): doing it twice writes the
same rows. The exactly-once mechanism of the loads carries over:

* **deterministic job ids**: a hash of the destination, the day, the state of the day's rows (their count
  and last write) and the hour; a run looks the id up before submitting, and a 409 on it is its own job.
  A failed job is not run again under its id: the day stays out of step, the run says so (an ERROR line),
  and the next hour's runs try again;
* **write-ahead batch**: the jobs are recorded in the lease (``{"kind": "daily", "jobs": [...]}``) before
  they are submitted, and a run that takes the lease over (a crash, a time budget spent while they ran)
  finishes them before it loads anything. No load ever runs while an aggregation job does, which is what
  makes a partition's write time say whether it is in step (:mod:`linehaul.daily.freshness`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from linehaul.daily.freshness import Partitions, PartitionState, stale_days
from linehaul.daily.shape import DAILY_TABLES, DailyTable, daily_tables_named
from linehaul.daily.sql import midnight
from linehaul.pipeline.backlog import staged_partitions
from linehaul.pipeline.daily_ports import Aggregator
from linehaul.pipeline.lease import Lease
from linehaul.pipeline.naming import Partition
from linehaul.pipeline.ports import BlobStore, JobExistsError, LoadJob, TableRef
from linehaul.pipeline.retries import DEFAULT_RETRIES, Retries
from linehaul.pipeline.settings import PublishSettings
from linehaul.tables import Table

__all__ = [
    "DAILY",
    "AggregateJob",
    "DailyTally",
    "aggregate_job_id",
    "days_due",
    "days_waiting",
    "finish_daily_batch",
    "is_daily_batch",
    "keep_daily_tables",
]

DAILY = "daily"
"""The ``kind`` of a lease batch of aggregation jobs (a batch of loads has an output's word)."""


@dataclass(frozen=True, slots=True)
class AggregateJob:
    """The job that replaces partition ``day`` of daily table ``table`` with the counts of ``source``."""

    job_id: str
    source: TableRef
    table: DailyTable
    day: date

    def to_json(self) -> dict[str, str]:
        day = self.day.isoformat()
        return {"id": self.job_id, "source": str(self.source), "table": self.table.name, "day": day}

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> AggregateJob:
        project, dataset, table = str(record["source"]).split(".")
        (daily,) = daily_tables_named([str(record["table"])])
        day = date.fromisoformat(record["day"])
        return cls(str(record["id"]), TableRef(project, dataset, table), daily, day)


@dataclass(slots=True)
class DailyTally:
    """What a run did to the daily tables, for its log line."""

    days: list[str] = field(default_factory=list)  # the days it aggregated (YYYYMMDD, per dataset)
    jobs_submitted: int = 0
    jobs_reused: int = 0
    metadata_queries: int = 0
    days_left: int = 0  # days due that it left for the next runs
    failed_this_hour: int = 0  # (day, table) pairs due whose job of this hour failed in an earlier run
    failed: list[dict[str, str]] = field(default_factory=list)  # {"job", "table", "day", "reason", "message"}


def is_daily_batch(batch: Mapping[str, Any] | None) -> bool:
    """Whether the lease's batch is a batch of aggregation jobs."""
    return batch is not None and batch.get("kind") == DAILY


def aggregate_job_id(
    source: TableRef, table: DailyTable, day: date, rows: PartitionState | None, at: datetime
) -> str:
    """The id of the job aggregating ``day`` of ``source`` into ``table``, the day's rows being ``rows``
    (None: none), in the hour of ``at`` (a failed job's id is tried again the next hour)."""
    state = "none" if rows is None else f"{rows.rows}|{rows.modified.isoformat()}"
    text = "\n".join([str(source), table.name, day.isoformat(), state, at.strftime("%Y-%m-%dT%H")])
    return f"linehaul_{table.name}_{Partition.of_day(day)}_{hashlib.sha256(text.encode()).hexdigest()[:32]}"


def is_complete(day: date, staged: Set[str], now: datetime, grace: timedelta) -> bool:
    """Whether ``day`` is over for ``grace`` and no staged file of it, or of the day before, waits."""
    waiting = {Partition.of_day(day), Partition.of_day(day - timedelta(days=1))} & staged
    return midnight(day + timedelta(days=1)) + grace <= now and not waiting


def days_due(
    found: Mapping[str, Partitions], source: str, staged: Set[str], now: datetime, grace: timedelta
) -> dict[date, list[DailyTable]]:
    """The complete days whose daily partitions are not all in step, with the tables that are not; from
    the partitions of ``source`` (``file_downloads``' name) and of the daily tables, by name."""
    rows = found.get(source, {})
    due: dict[date, list[DailyTable]] = {}
    for table in DAILY_TABLES:
        for day in stale_days(rows, found.get(table.name, {})):
            if is_complete(day, staged, now, grace):
                due.setdefault(day, []).append(table)
    return due


def plan(
    found: Mapping[str, Partitions], source: TableRef, due: Mapping[date, Sequence[DailyTable]], now: datetime
) -> list[AggregateJob]:
    """The jobs that aggregate the ``due`` days of ``source``."""
    rows = found.get(source.table, {})
    return [
        AggregateJob(aggregate_job_id(source, table, day, rows.get(day), now), source, table, day)
        for day, tables in due.items()
        for table in tables
    ]


def choose_days(
    aggregator: Aggregator,
    found: Mapping[str, Partitions],
    source: TableRef,
    due: Mapping[date, Sequence[DailyTable]],
    limit: int,
    now: datetime,
    retries: Retries,
    tally: DailyTally,
) -> dict[date, list[DailyTable]]:
    """The ``limit`` most recent ``due`` days, each with its tables but those whose job of this hour failed
    already (they are tried again the next hour, under a new id): a table whose jobs always fail (access
    denied, a table laid out by hand) leaves its days due, and would otherwise hold back every older day of
    every table. A day left with no table does not count against ``limit``."""
    rows = found.get(source.table, {})
    chosen: dict[date, list[DailyTable]] = {}
    for day in sorted(due, reverse=True):
        if len(chosen) == limit:
            break
        tables = []
        for table in due[day]:
            job_id = aggregate_job_id(source, table, day, rows.get(day), now)
            earlier = retries.call(partial(aggregator.job, job_id))
            if earlier is not None and earlier.state == "DONE" and earlier.failed:
                tally.failed_this_hour += 1
            else:
                tables.append(table)
        if tables:
            chosen[day] = tables
    return chosen


def run_jobs(
    aggregator: Aggregator,
    jobs: Sequence[AggregateJob],
    call: Callable[[Callable[[], Any]], Any],
    remaining: Callable[[], float],
    tally: DailyTally,
) -> bool:
    """Submit every job (``call`` tries each request again as the run's retries do; an id submitted before,
    by an earlier run or by an attempt whose answer was lost, is that job: 409), then wait for each; failed
    ones go into ``tally``. False when the time ran out first (the jobs still run: the lease keeps them
    for the next run)."""
    for job in jobs:
        try:
            call(partial(aggregator.start_aggregate, job.job_id, job.source, job.table, job.day))
            tally.jobs_submitted += 1
        except JobExistsError:
            tally.jobs_reused += 1
    for job in jobs:
        state: LoadJob = call(lambda: aggregator.wait(job.job_id, remaining()))  # noqa: B023 (called at once)
        if state.state != "DONE":
            return False
        if state.failed:
            error = state.errors[0] if state.errors else None
            destination = TableRef(job.source.project, job.source.dataset, job.table.name)
            tally.failed.append({
                "job": job.job_id, "table": str(destination), "day": job.day.isoformat(),
                "reason": error.reason if error else "", "message": (state.error or "")[:300],
            })  # fmt: skip
    done = {f"{job.source.project}.{job.source.dataset}:{Partition.of_day(job.day)}" for job in jobs}
    tally.days += sorted(done - set(tally.days))
    return True


def keep_daily_tables(
    aggregator: Aggregator,
    store: BlobStore,
    settings: PublishSettings,
    lease: Lease,
    now: Callable[[], datetime],
    retries: Retries,
    remaining: Callable[[], float],
    tally: DailyTally,
) -> bool:
    """Aggregate the days due of every dataset (see the module doc); False when the time budget ran out
    while the jobs ran (the lease keeps them)."""
    if not settings.daily_days_per_run:
        return True
    jobs: list[AggregateJob] = []
    for source, found, due in _due_by_dataset(aggregator, store, settings, now(), retries):
        tally.metadata_queries += 1
        limit = settings.daily_days_per_run
        chosen = choose_days(aggregator, found, source, due, limit, now(), retries, tally)
        tally.days_left += len(due) - len(chosen)
        jobs += plan(found, source, chosen, now())
    if not jobs:
        return True
    lease.record({"kind": DAILY, "jobs": [job.to_json() for job in jobs]}, now())
    return finish_daily_batch(aggregator, jobs, lease, now, retries, remaining, tally)


def finish_daily_batch(
    aggregator: Aggregator,
    jobs: Sequence[AggregateJob] | Mapping[str, Any],
    lease: Lease,
    now: Callable[[], datetime],
    retries: Retries,
    remaining: Callable[[], float],
    tally: DailyTally,
) -> bool:
    """Run ``jobs`` (or those of a lease's daily batch) to their end, then clear the lease's batch; False
    when the time budget ran out first (the lease keeps them)."""
    if isinstance(jobs, Mapping):
        jobs = [AggregateJob.from_json(record) for record in jobs["jobs"]]
    if not run_jobs(aggregator, jobs, retries.call, remaining, tally):
        return False
    lease.record(None, now())
    return True


def days_waiting(aggregator: Aggregator, store: BlobStore, settings: PublishSettings, now: datetime) -> int:
    """How many complete days of all the datasets are not in step yet (reads metadata and a listing only:
    for the local runner, which sends the publisher messages until none is left)."""
    return sum(len(due) for _, _, due in _due_by_dataset(aggregator, store, settings, now))


def _due_by_dataset(
    aggregator: Aggregator,
    store: BlobStore,
    settings: PublishSettings,
    now: datetime,
    retries: Retries = DEFAULT_RETRIES,
) -> Iterator[tuple[TableRef, Mapping[str, Partitions], dict[date, list[DailyTable]]]]:
    """For each destination of ``file_downloads``: its partitions and the daily tables', and the days due
    (one listing of the staging bucket, one metadata query a dataset)."""
    staged = set(staged_partitions(store, settings.staging_bucket, retries))
    grace, names = timedelta(seconds=settings.daily_grace_seconds), [table.name for table in DAILY_TABLES]
    for source in settings.destinations(Table.FILE_DOWNLOADS):
        found: Mapping[str, Partitions] = retries.call(partial(aggregator.partitions, source, names))
        yield source, found, days_due(found, source.table, staged, now, grace)
