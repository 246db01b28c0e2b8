"""The publisher against the in-memory ports: rows in tables, objects in buckets, after each scenario."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from linehaul.pipeline.lease import is_held, read_lease
from linehaul.pipeline.ports import TableRef
from linehaul.pipeline.publish import publish
from linehaul.pipeline.request import PublishRequest, RequestError
from linehaul.testing import MemoryBlobStore, MemoryTableLoader
from tests.pipeline.helpers import (
    SETTINGS,
    Clock,
    CrashError,
    Crashing,
    Ticking,
    simple_rows,
    stage,
    staged_rows,
)

DOWNLOADS = TableRef("proj", "pypi", "file_downloads")
SIMPLE = TableRef("proj", "pypi", "simple_requests")
ALL = PublishRequest(partition="20261101", continue_publishing=True)


@pytest.fixture
def store() -> MemoryBlobStore:
    return MemoryBlobStore("logs", "staging")


@pytest.fixture
def loader(store: MemoryBlobStore) -> MemoryTableLoader:
    return MemoryTableLoader(store)


def test_a_partition_is_loaded_marked_and_emptied(store: MemoryBlobStore, loader: MemoryTableLoader) -> None:
    rows = stage(store, "20261101", 3)
    report = publish(store, loader, SETTINGS, ALL)
    assert len(loader.rows(DOWNLOADS)) == rows == report.rows - len(loader.rows(SIMPLE))
    assert store.names("staging", "processed/") == []
    assert len(store.names("staging", "loaded/")) == 6
    assert not is_held(store, "staging", datetime.now(UTC))
    assert report.files == 6


def test_a_scheduled_run_publishes_every_partition_oldest_first(
    store: MemoryBlobStore, loader: MemoryTableLoader
) -> None:
    clock = Clock()  # 2026-11-02: most logs are years old, from many days
    partitions = ["20190314", "20201231", "20210107", "20261102"]
    rows = sum(stage(store, partition, 2, first_seed=3 * n + 1) for n, partition in enumerate(partitions))
    store.put("staging", "processed/not-a-day/downloads-x.json", b"{}\n")  # not a partition: left alone
    small = replace(SETTINGS, max_blobs_per_run=3)

    report = publish(store, loader, small, PublishRequest(), now=clock.now, clock=clock.monotonic)

    assert len(loader.rows(DOWNLOADS)) == rows
    assert store.names("staging", "processed/") == ["processed/not-a-day/downloads-x.json"]
    assert (report.partitions_seen, report.partitions) == (4, partitions)
    assert (report.batches, report.files) == (6, 16)  # 8 + 8 files, 3 a batch, batches across partitions
    assert (report.files_left, report.partitions_left, report.stopped) == (0, 0, None)


def test_the_time_budget_holds_while_a_load_job_runs(store: MemoryBlobStore) -> None:
    clock = Clock()
    slow = Ticking(MemoryTableLoader(store), clock, seconds=0.6)  # each load job takes 0.6 s
    rows = stage(store, "20261101", 2, first_seed=1) + stage(store, "20190314", 2, first_seed=5)
    one_file = replace(SETTINGS, max_blobs_per_run=1, time_budget=1.0)

    first = publish(store, slow, one_file, PublishRequest(), now=clock.now, clock=clock.monotonic)

    assert first.stopped == "time budget"  # the simple_requests job was still running at 1.0 s
    assert first.seconds <= one_file.time_budget
    assert first.partitions == ["20190314"]  # one downloads file, the oldest
    assert (first.files_left, first.oldest_partition_left) == (7, "20190314")
    held = read_lease(store, "staging")
    assert held is not None
    assert not held.held(clock.now())  # released, with the batch whose job runs
    assert held.batch == {"kind": "simple", "names": ["processed/20190314/simple-log00005.json"]}
    clock.advance(1)
    second = publish(store, slow, one_file, PublishRequest(), now=clock.now, clock=clock.monotonic)
    while second.files_left:
        clock.advance(1)
        second = publish(store, slow, one_file, PublishRequest(), now=clock.now, clock=clock.monotonic)
    assert len(slow.inner.rows(DOWNLOADS)) == rows
    assert len(slow.inner.rows(SIMPLE)) == simple_rows(2, 1) + simple_rows(2, 5)
    assert len(slow.inner.jobs) == 8  # one per file: the running job was waited for, not submitted again


def test_a_partition_message_publishes_that_partition_alone(
    store: MemoryBlobStore, loader: MemoryTableLoader
) -> None:
    stage(store, "20190314", 1, first_seed=1)
    rows = stage(store, "20261101", 2, first_seed=2)
    report = publish(store, loader, SETTINGS, ALL)
    assert len(loader.rows(DOWNLOADS)) == rows
    assert store.names("staging", "processed/20261101/") == []
    assert len(store.names("staging", "processed/20190314/")) == 2
    assert (report.partitions_seen, report.files_left, report.oldest_partition_left) == (1, 2, "20190314")


def test_one_batch_per_table_unless_asked_to_continue(
    store: MemoryBlobStore, loader: MemoryTableLoader
) -> None:
    small = replace(SETTINGS, max_blobs_per_run=2)
    rows = stage(store, "20261101", 5)
    publish(store, loader, small, PublishRequest(partition="20261101"))
    assert len(store.names("staging", "processed/20261101/downloads-")) == 3
    report = publish(store, loader, small, ALL)
    assert (report.batches, report.files) == (4, 6)  # 3 + 3 files left, two per batch at most
    assert len(loader.rows(DOWNLOADS)) == rows


def test_a_file_that_breaks_the_load_is_quarantined_and_the_rest_loads(
    store: MemoryBlobStore, loader: MemoryTableLoader
) -> None:
    rows = stage(store, "20261101", 4)
    store.put(
        "staging", "processed/20261101/downloads-log00002.json", b'{"timestamp": "not a time", "url": "/x"}\n'
    )
    bad_rows = staged_rows(2)[0].count(b"\n")
    report = publish(store, loader, SETTINGS, ALL)
    assert report.quarantined == ["quarantine/processed/20261101/downloads-log00002.json"]
    assert len(loader.rows(DOWNLOADS)) == rows - bad_rows
    data, info = store.get("staging", "quarantine/processed/20261101/downloads-log00002.json")
    assert b"not a time" in data
    assert "not an RFC 3339 timestamp" in info.metadata["linehaul-load-error"]
    assert store.names("staging", "processed/") == []


def test_a_second_run_while_one_holds_the_lease_does_nothing(
    store: MemoryBlobStore, loader: MemoryTableLoader
) -> None:
    rows = stage(store, "20261101", 2)
    crashing = Crashing(store, "put", when=lambda bucket, name, *rest: name.startswith("loaded/"))
    with pytest.raises(CrashError):
        publish(crashing, loader, SETTINGS, ALL)
    busy = publish(store, loader, SETTINGS, ALL)
    assert busy.lease == "busy"
    assert len(loader.rows(DOWNLOADS)) == rows  # the crashed run's batch, once


@pytest.mark.parametrize(
    ("method", "when"),
    [
        ("start_load", lambda *a: True),  # dies while submitting the first job
        ("wait", lambda *a: True),  # dies after submitting, before knowing the outcome
        ("put", lambda bucket, name, *rest: name.startswith("loaded/")),  # dies while marking
        ("delete", lambda bucket, name, *rest: name.startswith("processed/")),  # dies while deleting
    ],
    ids=["submit", "after-submit", "marking", "deleting"],
)
@pytest.mark.parametrize("after", [0, 1])
def test_a_crash_anywhere_then_runs_until_settled_load_every_row_once(
    store: MemoryBlobStore, loader: MemoryTableLoader, method: str, when: Any, after: int
) -> None:
    rows = stage(store, "20261101", 3)
    simple_rows = sum(staged_rows(seed)[1].count(b"\n") for seed in (1, 2, 3))
    clock = Clock()
    crashing_store: Any = store
    crashing_loader: Any = loader
    if method in ("start_load", "wait"):
        crashing_loader = Crashing(loader, method, after=after, when=when)
    else:
        crashing_store = Crashing(store, method, after=after, when=when)
    with pytest.raises(CrashError):
        publish(crashing_store, crashing_loader, SETTINGS, ALL, now=clock.now, clock=clock.monotonic)
    clock.advance(SETTINGS.lock_seconds + 1)  # the crashed run's lease expires
    publish(store, loader, SETTINGS, ALL, now=clock.now, clock=clock.monotonic)
    assert len(loader.rows(DOWNLOADS)) == rows
    assert len(loader.rows(SIMPLE)) == simple_rows
    assert store.names("staging", "processed/") == []


def test_a_file_staged_again_after_loading_is_not_loaded_again(
    store: MemoryBlobStore, loader: MemoryTableLoader
) -> None:
    rows = stage(store, "20261101", 2)
    publish(store, loader, SETTINGS, ALL)
    stage(store, "20261101", 2)  # an ingestor redelivery writes the same files again
    report = publish(store, loader, SETTINGS, ALL)
    assert report.already_loaded == 4
    assert len(loader.rows(DOWNLOADS)) == rows
    assert store.names("staging", "processed/") == []


def test_every_dataset_gets_every_batch(store: MemoryBlobStore, loader: MemoryTableLoader) -> None:
    two = replace(SETTINGS, datasets=(("proj", "pypi"), ("other", "mirror")))
    rows = stage(store, "20261101", 2)
    publish(store, loader, two, ALL)
    assert (
        len(loader.rows(DOWNLOADS)) == len(loader.rows(TableRef("other", "mirror", "file_downloads"))) == rows
    )


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({}, PublishRequest()),
        ({"partition": "20210107"}, PublishRequest(partition="20210107")),
        ({"continue_publishing": "False"}, PublishRequest(continue_publishing=False)),
        ({"continue_publishing": "TRUE"}, PublishRequest(continue_publishing=True)),
    ],
)
def test_message_attributes(attributes: dict[str, str], expected: PublishRequest) -> None:
    assert PublishRequest.from_attributes(attributes) == expected


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"partition": "2021-01-07"}, "partition='2021-01-07' is not a date as YYYYMMDD"),
        ({"partition": "20210230"}, "partition='20210230' is not a date as YYYYMMDD"),
        ({"continue_publishing": "yes"}, "continue_publishing='yes' is not true or false"),
    ],
)
def test_bad_message_attributes(attributes: dict[str, str], message: str) -> None:
    with pytest.raises(RequestError, match=message):
        PublishRequest.from_attributes(attributes)
