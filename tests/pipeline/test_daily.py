"""The publisher keeps the daily tables in step with file_downloads (in memory: the in-memory warehouse of
tests/pipeline/daily_fakes.py): once a day is complete, again after late rows, never on every run, through
crashes and runs that stop while their jobs run."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import pytest

from linehaul import Converted, Converter
from linehaul.daily.freshness import PartitionState, days_held, stale_days
from linehaul.daily.shape import DAILY_TABLES
from linehaul.daily.sql import midnight
from linehaul.logs.sample import sample_lines
from linehaul.pipeline.daily import is_daily_batch
from linehaul.pipeline.lease import read_lease
from linehaul.pipeline.naming import Partition
from linehaul.pipeline.ports import JobExistsError, LoadError, LoadJob, TableRef
from linehaul.pipeline.publish import PublishReport, publish
from linehaul.pipeline.request import PublishRequest
from linehaul.pipeline.retries import Retries
from linehaul.testing.memory import MemoryBlobStore
from tests.daily_counts import differences
from tests.pipeline.daily_fakes import MemoryWarehouse
from tests.pipeline.helpers import SETTINGS, Clock, CrashError, Crashing

DOWNLOADS = TableRef("proj", "pypi", "file_downloads")
DAYS = [date(2026, 11, 1) + timedelta(days=offset) for offset in range(5)]
LATER = datetime(2026, 12, 1, tzinfo=UTC)  # every day of DAYS is over, well past the grace period
ALL = PublishRequest()
NO_PAUSE = Retries(pause=0.0)


@cache
def day_rows(day: date, seed: int, lines: int = 120) -> tuple[bytes, bytes]:
    """(downloads NDJSON, simple NDJSON) of a sample log of one day."""
    converted = Converted()
    Converter().convert_lines(list(sample_lines(lines, seed=seed, start=midnight(day))), converted)
    return tuple(("\n".join(rows) + "\n").encode() for rows in (converted.downloads, converted.simple))  # type: ignore[return-value]


def stage_day(store: MemoryBlobStore, day: date, seed: int) -> None:
    downloads, simple = day_rows(day, seed)
    store.put("staging", f"processed/{Partition.of_day(day)}/downloads-log{seed:05d}.json", downloads)
    store.put("staging", f"processed/{Partition.of_day(day)}/simple-log{seed:05d}.json", simple)


class Cloud:
    """The staging bucket and the warehouse, a clock, and publisher runs."""

    def __init__(self, days: list[date] = DAYS[:3], **settings: Any) -> None:
        self.store = MemoryBlobStore("staging")
        self.warehouse = MemoryWarehouse(self.store)
        self.clock = Clock(LATER)
        self.settings = replace(SETTINGS, **settings)
        for number, day in enumerate(days, 1):
            stage_day(self.store, day, number)

    def publish(self, request: PublishRequest = ALL, **ports: Any) -> PublishReport:
        loader = ports.get("warehouse", self.warehouse)
        report = publish(
            self.store, loader, self.settings, request, now=self.clock.now, clock=self.clock.monotonic,
            retries=NO_PAUSE, aggregator=ports.get("aggregator", loader),
        )  # fmt: skip
        self.clock.advance(5)
        return report

    def differences(self, destination: TableRef = DOWNLOADS) -> list[str]:
        rows = self.warehouse.rows(destination)
        return [
            problem
            for table in DAILY_TABLES
            for problem in differences(
                table, rows, self.warehouse.daily_rows(replace(destination, table=table.name))
            )
        ]

    def days_aggregated(self) -> set[date]:
        return {row["date"] for row in self.warehouse.daily_rows(replace(DOWNLOADS, table="downloads_daily"))}


def test_complete_days_are_aggregated_once_and_exactly() -> None:
    cloud = Cloud()
    first = cloud.publish()
    assert cloud.differences() == []
    assert cloud.days_aggregated() == set(DAYS[:3])
    assert first.daily is not None
    assert (first.daily["jobs_submitted"], first.daily["metadata_queries"]) == (3 * len(DAILY_TABLES), 1)
    assert "aggregated 3 days into the daily tables (33 jobs)" in first.message()
    again = cloud.publish()  # nothing new: the days' rows are not read again
    assert again.daily is not None
    assert (again.daily["jobs_submitted"], again.daily["jobs_reused"], again.daily["days"]) == (0, 0, [])


def test_late_rows_make_their_day_aggregated_again() -> None:
    cloud = Cloud()
    cloud.publish()
    stage_day(cloud.store, DAYS[1], seed=9)  # a late log of an aggregated day
    late = cloud.publish()
    assert late.daily is not None
    assert late.daily["days"] == [f"proj.pypi:{Partition.of_day(DAYS[1])}"]
    assert late.daily["jobs_submitted"] == len(DAILY_TABLES)
    assert cloud.differences() == []


def test_a_day_is_aggregated_once_it_is_over_for_the_grace_period() -> None:
    cloud = Cloud()
    cloud.clock.moment = midnight(DAYS[2]) + timedelta(hours=1, minutes=59)  # DAYS[1] is over by 1:59
    cloud.publish()
    assert cloud.days_aggregated() == {DAYS[0]}
    cloud.clock.moment = midnight(DAYS[2]) + timedelta(hours=2)
    cloud.publish()
    assert cloud.days_aggregated() == {DAYS[0], DAYS[1]}
    assert cloud.differences()  # DAYS[2] is not over yet: no rows of it in the daily tables
    cloud.clock.moment = LATER
    cloud.publish()
    assert cloud.differences() == []


def test_a_day_waits_for_its_staged_files_and_those_of_the_day_before() -> None:
    cloud = Cloud(DAYS[:3])
    cloud.publish(PublishRequest(partition=Partition.of_day(DAYS[2])))  # one partition loaded, two left
    assert cloud.days_aggregated() == set()  # DAYS[2] waits for DAYS[1]'s files: they may hold its rows
    cloud.publish(PublishRequest(partition=Partition.of_day(DAYS[0])))
    assert cloud.days_aggregated() == {DAYS[0]}
    cloud.publish()
    assert cloud.differences() == []


def test_a_run_aggregates_the_most_recent_days_due_first_up_to_its_limit() -> None:
    cloud = Cloud(DAYS, daily_days_per_run=2)
    first = cloud.publish()
    assert cloud.days_aggregated() == set(DAYS[3:])
    assert first.daily is not None
    assert first.daily["days_left"] == 3
    cloud.publish()
    cloud.publish()
    assert cloud.differences() == []


def test_no_daily_tables_with_a_limit_of_zero() -> None:
    cloud = Cloud(daily_days_per_run=0)
    cloud.publish()
    assert cloud.days_aggregated() == set()


@pytest.mark.parametrize("after", [0, 5], ids=["before-any-job", "after-some-jobs"])
def test_a_run_that_dies_while_aggregating_is_finished_by_the_run_that_takes_its_lease(after: int) -> None:
    cloud = Cloud()
    crashing = Crashing(cloud.warehouse, "start_aggregate", after=after)
    with pytest.raises(CrashError):
        cloud.publish(aggregator=crashing)
    held = read_lease(cloud.store, "staging")
    assert held is not None
    assert is_daily_batch(held.batch)
    assert cloud.publish().lease == "busy"
    cloud.clock.advance(SETTINGS.lock_seconds)
    taken = cloud.publish()
    assert taken.daily is not None
    assert taken.daily["jobs_submitted"] + taken.daily["jobs_reused"] == 3 * len(DAILY_TABLES)
    assert taken.daily["jobs_reused"] == after
    assert cloud.differences() == []


class Slow:
    """The warehouse, its aggregation jobs taking ``seconds`` on the test's clock, as BigQuery's do: a job
    reads the rows there are when it starts and writes the partition when it ends (then, whoever asks)."""

    def __init__(self, inner: MemoryWarehouse, clock: Clock, seconds: float) -> None:
        self.inner, self.clock, self.seconds = inner, clock, seconds
        self.running: dict[str, tuple[datetime, tuple[Any, ...], list[dict[str, Any]]]] = {}

    def __getattr__(self, name: str) -> Any:
        self.tick()
        return getattr(self.inner, name)

    def tick(self) -> None:
        """End the jobs whose time has come, in the order they end: each writes what it read."""
        for job_id, (end, args, rows) in sorted(self.running.items(), key=lambda item: item[1][0]):
            if self.clock.now() >= end:
                source, now = str(args[0]), self.inner.tables.get(str(args[0]), [])
                self.inner.tables[source] = rows
                try:
                    self.inner.start_aggregate(job_id, *args)
                finally:
                    self.inner.tables[source] = now
                del self.running[job_id]

    def start_aggregate(self, job_id: str, *args: Any) -> None:
        self.tick()
        if job_id in self.running or self.inner.job(job_id) is not None:
            raise JobExistsError(job_id)
        rows = list(self.inner.tables.get(str(args[0]), []))
        self.running[job_id] = (self.clock.now() + timedelta(seconds=self.seconds), args, rows)
        self.tick()

    def job(self, job_id: str) -> LoadJob | None:
        self.tick()
        return LoadJob(job_id, "RUNNING") if job_id in self.running else self.inner.job(job_id)

    def wait(self, job_id: str, timeout: float) -> LoadJob:
        if job_id in self.running:
            left = (self.running[job_id][0] - self.clock.now()).total_seconds()
            self.clock.advance(max(0.0, min(left, timeout)))
        found = self.job(job_id)
        assert found is not None
        return found


def test_aggregation_jobs_a_run_left_running_end_before_the_next_run_loads() -> None:
    """Were the next run to load first, a job that read the day's rows before that load and ended after
    it would leave the day's counts short, its partition written after the rows' (so seemingly in step)."""
    cloud = Cloud(time_budget=60.0)
    slow = Slow(cloud.warehouse, cloud.clock, seconds=600)
    stopped = cloud.publish(aggregator=slow, warehouse=slow)
    assert stopped.stopped == "time budget"
    held = read_lease(cloud.store, "staging")
    assert held is not None
    assert is_daily_batch(held.batch)
    stage_day(cloud.store, DAYS[0], seed=7)  # a late log, staged while those jobs run
    slow.seconds = 0
    cloud.publish(aggregator=slow, warehouse=slow)  # Pub/Sub's redelivery, seconds later
    cloud.clock.advance(3600)
    cloud.publish(aggregator=slow, warehouse=slow)
    assert slow.running == {}
    assert cloud.differences() == []


def test_a_failed_aggregation_job_is_an_error_and_is_tried_again_the_next_hour() -> None:
    cloud = Cloud()
    installer = TableRef("proj", "pypi", "downloads_by_installer_daily")
    denied = LoadError("accessDenied", "Access Denied: Table proj:pypi.downloads_by_installer_daily")
    cloud.warehouse.refusals[installer] = denied
    failed = cloud.publish()
    assert failed.daily is not None
    assert {item["table"] for item in failed.daily["failed"]} == {str(installer)}
    assert failed.log_record()["severity"] == "ERROR"
    assert "failed (accessDenied: Access Denied" in failed.message()
    del cloud.warehouse.refusals[installer]
    same_hour = cloud.publish()  # the same job ids: found failed, not submitted again, said again
    assert same_hour.daily is not None
    assert (same_hour.daily["jobs_submitted"], same_hour.daily["failed_this_hour"]) == (0, 3)
    assert same_hour.log_record()["severity"] == "ERROR"
    assert "3 aggregation jobs failed earlier this hour" in same_hour.message()
    cloud.clock.advance(3600)
    assert cloud.publish().log_record()["severity"] == "INFO"
    assert cloud.differences() == []


def test_a_table_whose_jobs_always_fail_holds_back_no_other_table_or_day() -> None:
    cloud = Cloud(DAYS, daily_days_per_run=2)
    installer = TableRef("proj", "pypi", "downloads_by_installer_daily")
    cloud.warehouse.refusals[installer] = LoadError("accessDenied", "Access Denied")
    for _ in range(3):  # the most recent days' installer jobs fail, and the runs go on to older days
        cloud.publish()
    assert cloud.days_aggregated() == set(DAYS)
    working = [table for table in DAILY_TABLES if table.name != installer.table]
    assert all({row["date"] for row in cloud.warehouse.daily_rows(replace(DOWNLOADS, table=table.name))}
               == set(DAYS) for table in working)  # fmt: skip
    assert cloud.warehouse.daily_rows(installer) == []
    del cloud.warehouse.refusals[installer]
    cloud.clock.advance(3600)  # the next hour: the installer's days are tried again, under new ids
    for _ in range(3):
        cloud.publish()
    assert cloud.differences() == []


def test_every_dataset_gets_its_daily_tables() -> None:
    cloud = Cloud(datasets=(("proj", "pypi"), ("other", "copy")))
    cloud.publish()
    assert cloud.differences() == []
    assert cloud.differences(TableRef("other", "copy", "file_downloads")) == []


def test_a_partition_listed_without_rows_is_no_partition() -> None:
    """BigQuery may list a partition whose rows were all deleted; an aggregation of no row writes none."""
    day, before, after = DAYS[0], LATER, LATER + timedelta(hours=1)
    emptied = {day: PartitionState(0, before)}
    assert stale_days(emptied, {}) == set()  # not aggregated again on every run
    assert days_held(emptied, {}, day, day) == ({day}, set())
    assert stale_days({}, {day: PartitionState(0, after)}) == set()
    assert stale_days(emptied, {day: PartitionState(3, after)}) == {day}  # counts of deleted rows: stale
    assert stale_days({day: PartitionState(5, after)}, {day: PartitionState(0, after)}) == {day}
