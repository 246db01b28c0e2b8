"""The lease under writes that land and still fail, runs that fail, and real takeovers: rows in tables,
objects in buckets after each scenario. The clock never moves past the lease's expiry: nothing here waits."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from linehaul.pipeline.lease import Lease, LeaseLostError, is_held
from linehaul.pipeline.naming import LOCK
from linehaul.pipeline.ports import PreconditionFailedError, StorageError, TableLoaderError, TableRef
from linehaul.pipeline.publish import PublishReport, publish
from linehaul.pipeline.request import PublishRequest
from linehaul.pipeline.retries import Retries
from linehaul.testing import MemoryBlobStore, MemoryTableLoader
from tests.pipeline.helpers import SETTINGS, Clock, LandsThenFails, simple_rows, stage

DOWNLOADS = TableRef("proj", "pypi", "file_downloads")
SIMPLE = TableRef("proj", "pypi", "simple_requests")
ALL = PublishRequest(partition="20261101", continue_publishing=True)
NO_PAUSE = Retries(pause=0.0)


@pytest.fixture
def store() -> MemoryBlobStore:
    return MemoryBlobStore("staging")


@pytest.fixture
def loader(store: MemoryBlobStore) -> MemoryTableLoader:
    return MemoryTableLoader(store)


def run(store: Any, loader: Any, clock: Clock) -> PublishReport:
    return publish(store, loader, SETTINGS, ALL, now=clock.now, clock=clock.monotonic, retries=NO_PAUSE)


def lease_of(store: MemoryBlobStore) -> dict[str, Any] | None:
    found = store.stat("staging", LOCK)
    return None if found is None else json.loads(store.get("staging", LOCK)[0])


def free(store: MemoryBlobStore, clock: Clock) -> bool:
    """No run holds the lease, and it records no batch in flight."""
    left = lease_of(store)
    return not is_held(store, "staging", clock.now()) and (left is None or left["batch"] is None)


def on_the_lease(bucket: str, name: str, *rest: Any) -> bool:
    return name == LOCK


@pytest.mark.parametrize(
    "error",
    [
        lambda: PreconditionFailedError("the retry of a landed write fails its own precondition"),
        lambda: StorageError("503: the answer was lost"),
        lambda: TimeoutError("the answer never came"),
    ],
    ids=["precondition", "unavailable", "timeout"],
)
@pytest.mark.parametrize("write", [0, 1, 2, 5], ids=["acquire", "record-batch", "record-done", "release"])
def test_a_lease_write_that_landed_but_failed_does_not_stop_the_run(
    store: MemoryBlobStore, loader: MemoryTableLoader, error: Any, write: int
) -> None:
    rows = stage(store, "20261101", 2)
    # the lease is written when taken, before and after each of the two batches, and when released
    flaky = LandsThenFails(store, "put", error, when=on_the_lease, after=write)
    clock = Clock()
    report = run(flaky, loader, clock)
    assert report.lease == "held"
    assert report.recovered == 1  # the lease read back once, and found to be the run's own
    assert len(loader.rows(DOWNLOADS)) == rows
    assert len(loader.rows(SIMPLE)) == simple_rows(2)
    assert store.names("staging", "processed/") == []
    assert free(store, clock)


def test_a_job_insert_that_landed_but_failed_loads_its_rows_once(
    store: MemoryBlobStore, loader: MemoryTableLoader
) -> None:
    rows = stage(store, "20261101", 3)
    flaky = LandsThenFails(loader, "start_load", lambda: TableLoaderError("503 after the insert"), times=2)
    run(store, flaky, Clock())
    assert len(loader.rows(DOWNLOADS)) == rows
    assert len(loader.rows(SIMPLE)) == simple_rows(3)
    assert store.names("staging", "processed/") == []


def test_a_run_that_fails_leaves_the_lease_free_with_its_batch_for_the_next(
    store: MemoryBlobStore, loader: MemoryTableLoader
) -> None:
    rows = stage(store, "20261101", 3)
    clock = Clock()
    flaky = LandsThenFails(loader, "wait", lambda: RuntimeError("a bug, not a flaky service"))
    with pytest.raises(RuntimeError, match="a bug"):
        run(store, flaky, clock)
    left = lease_of(store)
    assert left is not None
    assert left["batch"]["kind"] == "downloads"
    assert left["expires"] == clock.now().isoformat()  # free now, not after LOCK_SECONDS
    report = run(store, loader, clock)  # the same moment: nothing expired
    assert report.lease == "held"
    assert len(loader.rows(DOWNLOADS)) == rows  # the batch in flight, finished once
    assert len(loader.rows(SIMPLE)) == simple_rows(3)
    assert store.names("staging", "processed/") == []
    assert free(store, clock)


def test_a_run_that_fails_with_nothing_in_flight_frees_the_lease(
    store: MemoryBlobStore, loader: MemoryTableLoader
) -> None:
    stage(store, "20261101", 1)
    clock = Clock()
    flaky = LandsThenFails(store, "list", lambda: RuntimeError("a bug"))
    with pytest.raises(RuntimeError, match="a bug"):
        run(flaky, loader, clock)
    assert free(store, clock)


def test_a_run_that_cannot_release_the_lease_says_so_on_its_error(
    store: MemoryBlobStore, loader: MemoryTableLoader
) -> None:
    stage(store, "20261101", 1)
    broken: list[bool] = []

    def bug() -> Exception:  # from now on, storage answers nothing about the lease
        broken.append(True)
        return RuntimeError("a bug")

    def down(bucket: str, name: str, *rest: Any) -> bool:
        return name == LOCK and bool(broken)

    failing = LandsThenFails(loader, "wait", bug)
    unreachable = LandsThenFails(store, "put", lambda: StorageError("503"), when=down, times=100)
    unreachable = LandsThenFails(unreachable, "get", lambda: StorageError("503"), when=down, times=100)
    with pytest.raises(RuntimeError, match="a bug") as raised:
        run(unreachable, failing, Clock())
    assert "the lease could not be released" in "".join(raised.value.__notes__)


def test_a_run_really_taken_over_leaves_the_new_lease_alone(
    store: MemoryBlobStore, loader: MemoryTableLoader
) -> None:
    stage(store, "20261101", 2)

    def taken_over() -> Exception:  # another run took the lease meanwhile: this run overran it
        store.put("staging", LOCK, json.dumps({"owner": "other", "expires": "2099-01-01T00:00:00+00:00",
                                                "batch": None}).encode())  # fmt: skip
        return StorageError("503 while marking")

    flaky = LandsThenFails(
        store, "put", taken_over, when=lambda bucket, name, *rest: name.startswith("loaded/")
    )
    with pytest.raises(LeaseLostError, match="taken over"):
        run(flaky, loader, Clock())
    assert lease_of(store) == {"owner": "other", "expires": "2099-01-01T00:00:00+00:00", "batch": None}


def test_a_lease_created_by_a_write_whose_answer_was_lost_is_ours(store: MemoryBlobStore) -> None:
    flaky: Any = LandsThenFails(store, "put", lambda: PreconditionFailedError("412 on the retry"))
    lease = Lease.acquire(flaky, "staging", "me", 600, Clock().now(), NO_PAUSE)
    assert lease is not None
    assert Lease.acquire(store, "staging", "someone else", 600, Clock().now(), NO_PAUSE) is None
    lease.release(Clock().now())
    assert free(store, Clock())
    assert Lease.acquire(store, "staging", "someone else", 600, Clock().now(), NO_PAUSE) is not None


def test_a_run_that_takes_over_a_dead_run_s_lease_says_whose_and_since_when(
    store: MemoryBlobStore, loader: MemoryTableLoader
) -> None:
    clock = Clock()
    dead = Lease.acquire(store, "staging", "dead run", 600, clock.now(), NO_PAUSE)  # killed: never released
    assert dead is not None
    expired = (clock.now() + timedelta(seconds=600)).isoformat()
    clock.advance(601)
    stage(store, "20261101", 1)

    report = run(store, loader, clock)

    assert report.lease_taken_over == {"owner": "dead run", "expired": expired}
    assert report.log_record()["lease_taken_over"] == {"owner": "dead run", "expired": expired}
    clock.advance(1)
    assert run(store, loader, clock).lease_taken_over is None  # released by the run before: not dead


def test_a_released_lease_is_not_taken_over_from_anyone(store: MemoryBlobStore) -> None:
    clock = Clock()
    lease = Lease.acquire(store, "staging", "first", 600, clock.now(), NO_PAUSE)
    assert lease is not None
    assert lease.taken_over is None
    lease.release(clock.now())
    assert lease_of(store) == {"owner": "first", "expires": clock.now().isoformat(), "batch": None,
                               "released": True}  # fmt: skip
    clock.advance(1)
    again = Lease.acquire(store, "staging", "second", 600, clock.now(), NO_PAUSE)
    assert again is not None
    assert again.taken_over is None
