"""Failed load jobs against the in-memory ports: a file is quarantined only when the failure names it; any
other failure stops publishing, keeps every staged file, spends one failed job, and after the fix every row
loads once. Rows in tables and objects in buckets after each scenario."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from linehaul.pipeline.lease import read_lease
from linehaul.pipeline.naming import LOCK
from linehaul.pipeline.ports import LoadError, TableRef
from linehaul.pipeline.publish import MAX_FAILED_JOBS, PublishReport, publish
from linehaul.pipeline.request import PublishRequest
from linehaul.schema import load_schema
from linehaul.tables import Table
from linehaul.testing import MemoryBlobStore, MemoryTableLoader
from tests.pipeline.helpers import (
    SETTINGS,
    Clock,
    CrashError,
    Crashing,
    simple_rows,
    stage,
    staged_rows,
)

DOWNLOADS = TableRef("proj", "pypi", "file_downloads")
SIMPLE = TableRef("proj", "pypi", "simple_requests")
SCHEDULED = PublishRequest()
PARTITION = "20210107"
BAD_ROW = b'{"timestamp": "not a time", "url": "/x"}\n'

Outage = Callable[[MemoryTableLoader], Callable[[], None]]
"""Breaks the loader's BigQuery; returns what fixes it."""


def missing_dataset(loader: MemoryTableLoader) -> Callable[[], None]:
    loader.datasets = {"proj.elsewhere"}
    return lambda: loader.datasets.add("proj.pypi") if loader.datasets is not None else None


def older_table(loader: MemoryTableLoader) -> Callable[[], None]:
    columns = [dict(column) for column in load_schema(Table.FILE_DOWNLOADS) if column["name"] != "tls_cipher"]
    loader.create_table(DOWNLOADS, columns)
    return lambda: loader.create_table(DOWNLOADS, load_schema(Table.FILE_DOWNLOADS))  # dropped, applied again


def refused(reason: str) -> Outage:
    def outage(loader: MemoryTableLoader) -> Callable[[], None]:
        loader.refusals[DOWNLOADS] = LoadError(reason, f"{reason} (as BigQuery says it)")
        return lambda: loader.refusals.clear()

    return outage


OUTAGES = {
    "notFound": missing_dataset,
    "invalid": older_table,
    "accessDenied": refused("accessDenied"),
    "quotaExceeded": refused("quotaExceeded"),
    "backendError": refused("backendError"),
}


class Pipeline:
    """A staging bucket, BigQuery in memory, and a clock that moves between runs."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.store = MemoryBlobStore("staging", now=self.clock.now)
        self.loader = MemoryTableLoader(self.store)

    def run(self, request: PublishRequest = SCHEDULED, **changes: Any) -> PublishReport:
        report = publish(self.store, self.loader, replace(SETTINGS, **changes), request,
                         now=self.clock.now, clock=self.clock.monotonic)  # fmt: skip
        self.clock.advance(60)
        return report

    def staged(self) -> list[str]:
        return self.store.names("staging", "processed/")


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline()


@pytest.mark.parametrize("reason", list(OUTAGES))
def test_a_failure_no_file_caused_stops_publishing_and_keeps_every_file(
    pipeline: Pipeline, reason: str
) -> None:
    rows = stage(pipeline.store, PARTITION, 32)
    staged = pipeline.staged()
    fix = OUTAGES[reason](pipeline.loader)

    stopped = pipeline.run()

    assert stopped.publishing_stopped
    assert (stopped.jobs_submitted, stopped.jobs_failed, stopped.quarantined) == (1, 1, [])
    assert pipeline.staged() == staged
    assert pipeline.store.names("staging", "quarantine/") == []
    assert pipeline.store.names("staging", "loaded/") == []
    record = stopped.log_record()
    assert record["severity"] == "ERROR"
    assert str(DOWNLOADS) in record["message"]
    assert f"({reason}: " in record["message"]
    assert record["failure"]["table"] == str(DOWNLOADS)
    lease = read_lease(pipeline.store, "staging")
    assert lease is not None
    assert not lease.held(pipeline.clock.now())
    assert lease.batch is not None
    assert lease.batch["failed"]["reason"] == reason

    held_off = pipeline.run()  # within LOAD_RETRY_SECONDS: no job at all

    assert (held_off.stopped, held_off.jobs_submitted, held_off.publishing_stopped) == ("held off", 0, True)
    assert pipeline.staged() == staged

    fix()
    pipeline.clock.advance(SETTINGS.retry_seconds)
    fixed = pipeline.run()

    assert (fixed.publishing_stopped, fixed.stopped, fixed.files_left) == (False, None, 0)
    assert len(pipeline.loader.rows(DOWNLOADS)) == rows
    assert len(pipeline.loader.rows(SIMPLE)) == simple_rows(32)
    assert pipeline.staged() == []
    assert pipeline.store.names("staging", "quarantine/") == []


def test_a_stopped_run_spends_one_failed_job_where_bisecting_spent_hundreds(pipeline: Pipeline) -> None:
    stage(pipeline.store, PARTITION, 32)
    refused("backendError")(pipeline.loader)

    for _ in range(4):  # runs after the hold-off each try once more
        pipeline.run()
        pipeline.clock.advance(SETTINGS.retry_seconds)

    assert len(pipeline.loader.jobs) == 4
    assert pipeline.store.names("staging", "quarantine/") == []


def test_one_bad_file_among_good_ones_is_the_only_one_quarantined(pipeline: Pipeline) -> None:
    rows = stage(pipeline.store, PARTITION, 8)
    bad = f"processed/{PARTITION}/downloads-log00005.json"
    pipeline.store.put("staging", bad, staged_rows(5)[0] + BAD_ROW)

    report = pipeline.run()

    assert report.quarantined == [f"quarantine/{bad}"]
    assert (report.jobs_failed, report.publishing_stopped, report.log_record()["severity"]) == (
        1,
        False,
        "WARNING",
    )
    assert len(pipeline.loader.rows(DOWNLOADS)) == rows - staged_rows(5)[0].count(b"\n")
    assert len(pipeline.loader.rows(SIMPLE)) == simple_rows(8)
    assert pipeline.staged() == []
    _, info = pipeline.store.get("staging", f"quarantine/{bad}")
    assert "not an RFC 3339 timestamp" in info.metadata["linehaul-load-error"]


def test_a_run_spends_a_bounded_number_of_failed_jobs_on_bad_files(pipeline: Pipeline) -> None:
    rows = stage(pipeline.store, PARTITION, 20)
    bad = [f"processed/{PARTITION}/downloads-log{seed:05d}.json" for seed in (2, 3, 7, 11, 19)]
    for name in bad:
        pipeline.store.put("staging", name, BAD_ROW)

    first = pipeline.run()

    assert (first.jobs_failed, first.stopped, first.log_record()["severity"]) == (
        MAX_FAILED_JOBS,
        "failed jobs",
        "ERROR",
    )
    assert len(first.quarantined) == MAX_FAILED_JOBS  # each failed job names one file here
    runs = [pipeline.run() for _ in range(3)]
    assert all(run.jobs_failed <= MAX_FAILED_JOBS for run in runs)
    assert sorted(pipeline.store.names("staging", "quarantine/")) == [f"quarantine/{name}" for name in bad]
    good = rows - sum(staged_rows(seed)[0].count(b"\n") for seed in (2, 3, 7, 11, 19))
    assert len(pipeline.loader.rows(DOWNLOADS)) == good
    assert len(pipeline.loader.rows(SIMPLE)) == simple_rows(20)
    assert pipeline.staged() == []


def test_a_second_destination_that_fails_does_not_load_the_first_twice(pipeline: Pipeline) -> None:
    mirror = TableRef("other", "mirror", "file_downloads")
    two: dict[str, Any] = {"datasets": (("proj", "pypi"), ("other", "mirror"))}
    rows = stage(pipeline.store, PARTITION, 3)
    pipeline.loader.refusals[mirror] = LoadError("accessDenied", "Access Denied: Dataset other:mirror")

    stopped = pipeline.run(**two)
    pipeline.loader.refusals.clear()
    pipeline.clock.advance(SETTINGS.retry_seconds)
    fixed = pipeline.run(**two)

    assert stopped.publishing_stopped
    assert len(pipeline.loader.rows(DOWNLOADS)) == len(pipeline.loader.rows(mirror)) == rows
    assert fixed.jobs_reused >= 1  # the batch's job into the first dataset, not run again
    assert pipeline.staged() == []


def test_a_failed_job_is_tried_again_from_the_attempt_after_it(pipeline: Pipeline) -> None:
    stage(pipeline.store, PARTITION, 1)
    refused("quotaExceeded")(pipeline.loader)
    for _ in range(5):
        pipeline.run()
        pipeline.clock.advance(SETTINGS.retry_seconds)
    pipeline.loader.refusals.clear()

    fixed = pipeline.run()

    assert fixed.stopped is None
    assert fixed.jobs_reused == 0  # no earlier attempt looked up: the lease said which one failed
    assert sorted(job_id[-2:] for job_id in pipeline.loader.jobs if "file_downloads" in job_id) == [
        "_0",
        "_1",
        "_2",
        "_3",
        "_4",
        "_5",
    ]


def test_a_busy_lease_is_named_with_its_owner_and_expiry(pipeline: Pipeline) -> None:
    stage(pipeline.store, PARTITION, 1)
    refused("backendError")(pipeline.loader)
    pipeline.store.put("staging", LOCK, json.dumps({
        "owner": "run-7", "expires": "2099-01-01T00:00:00+00:00", "batch": None}).encode())  # fmt: skip

    busy = pipeline.run()

    assert busy.lease == "busy"
    assert busy.log_record()["message"] == (
        "another publisher run (run-7) holds the lease until 2099-01-01T00:00:00+00:00: nothing to do"
    )


def test_a_failure_an_earlier_run_left_unnoted_is_tried_again_at_once(pipeline: Pipeline) -> None:
    rows = stage(pipeline.store, PARTITION, 2)
    fix = refused("backendError")(pipeline.loader)
    lease_writes = Crashing(pipeline.store, "put", after=2, when=lambda bucket, name, *rest: name == LOCK)
    with pytest.raises(CrashError):  # the run dies as it releases the lease: the failure is not noted
        publish(lease_writes, pipeline.loader, SETTINGS, SCHEDULED, now=pipeline.clock.now,
                clock=pipeline.clock.monotonic)  # fmt: skip
    fix()
    pipeline.clock.advance(SETTINGS.lock_seconds)

    report = pipeline.run()

    assert (report.publishing_stopped, report.jobs_reused, report.jobs_submitted) == (False, 1, 2)
    assert len(pipeline.loader.rows(DOWNLOADS)) == rows
    assert pipeline.staged() == []
