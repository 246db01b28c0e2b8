"""The fault layer does what it says, judged by the objects and jobs left behind; and the runs' retries."""

from __future__ import annotations

from typing import Any

import pytest

from linehaul.pipeline.ports import (
    BlobInfo,
    PreconditionFailedError,
    StorageError,
    TableLoaderError,
    TableRef,
)
from linehaul.pipeline.retries import Retries, is_transient
from linehaul.schema import load_schema
from linehaul.tables import Table
from linehaul.testing import (
    Fault,
    Faults,
    FlakyBlobStore,
    FlakyTableLoader,
    MemoryBlobStore,
    MemoryTableLoader,
)

TABLE = TableRef("proj", "pypi", "file_downloads")
SEEDS = range(40)


def flaky(fault: Fault, seed: int = 0) -> tuple[MemoryBlobStore, FlakyBlobStore]:
    store = MemoryBlobStore("b")
    return store, FlakyBlobStore(store, Faults(seed, **{fault.value: 1.0}))


def test_before_nothing_happens() -> None:
    store, broken = flaky(Fault.BEFORE)
    store.put("b", "kept", b"x")
    with pytest.raises(StorageError, match="before reaching"):
        broken.put("b", "new", b"x")
    with pytest.raises(StorageError):
        broken.delete("b", "kept")
    with pytest.raises(StorageError):
        broken.copy("b", "kept", "b", "copy")
    assert store.names("b") == ["kept"]


def test_after_the_write_landed_whatever_the_caller_was_told() -> None:
    outcomes = set()
    for seed in SEEDS:
        store, broken = flaky(Fault.AFTER, seed)
        try:
            broken.put("b", "lock", b"mine", if_generation_match=0)
            outcomes.add("returned")
        except PreconditionFailedError:  # what the library's retry of the landed write gets
            outcomes.add("precondition")
        except StorageError:
            outcomes.add("unavailable")
        assert store.get("b", "lock")[0] == b"mine"
    assert outcomes == {"precondition", "unavailable"}


def test_after_a_delete_landed_it_is_gone() -> None:
    answers: set[bool | str] = set()
    for seed in SEEDS:
        store, broken = flaky(Fault.AFTER, seed)
        store.put("b", "x", b"x")
        try:
            answers.add(broken.delete("b", "x"))  # False: the retry found nothing
        except StorageError:
            answers.add("unavailable")
        assert store.stat("b", "x") is None
    assert answers == {False, "unavailable"}


def test_after_a_job_insert_landed_the_job_exists() -> None:
    for seed in SEEDS:
        store = MemoryBlobStore("b")
        store.put("b", "rows.json", b"")
        loader = MemoryTableLoader(store)
        broken = FlakyTableLoader(loader, Faults(seed, after=1.0))
        with pytest.raises(TableLoaderError):  # JobExistsError is one: the retry found our job
            broken.start_load("job-1", ["gs://b/rows.json"], TABLE, load_schema(Table.FILE_DOWNLOADS))
        assert loader.job("job-1") is not None


def test_after_a_listing_stops_part_way() -> None:
    store, broken = flaky(Fault.AFTER, seed=3)
    for number in range(5):
        store.put("b", f"o{number}", b"")
    listed: list[BlobInfo] = []
    with pytest.raises(StorageError, match="part-way"):
        listed.extend(broken.list("b", ""))
    assert len(listed) < 5


def test_a_folder_listing_stops_part_way_or_fails_before() -> None:
    store, broken = flaky(Fault.AFTER, seed=3)
    for number in range(5):
        store.put("b", f"p/{number}/o", b"")
    listed: list[str] = []
    with pytest.raises(StorageError, match="part-way"):
        listed.extend(broken.folders("b", "p/"))
    assert len(listed) < 5
    _, refused = flaky(Fault.BEFORE, seed=3)
    with pytest.raises(StorageError, match="before"):
        list(refused.folders("b", "p/"))


def test_a_timeout_may_have_acted_or_not() -> None:
    landed = set()
    for seed in SEEDS:
        store, broken = flaky(Fault.TIMEOUT, seed)
        with pytest.raises(TimeoutError), broken.open_writer("b", "out") as stream:
            stream.write(b"rows")
        landed.add(store.stat("b", "out") is not None)
    assert landed == {True, False}


def test_the_same_seed_gives_the_same_faults_whatever_the_order_of_calls() -> None:
    def fates(names: list[str]) -> dict[str, str]:
        broken = FlakyBlobStore(MemoryBlobStore("b"), Faults(7, before=0.5))
        outcome = {}
        for name in names:
            try:
                broken.put("b", name, b"")
                outcome[name] = "ok"
            except StorageError:
                outcome[name] = "failed"
        return outcome

    names = [f"o{number}" for number in range(30)]
    assert fates(names) == fates(names[::-1])
    assert set(fates(names).values()) == {"ok", "failed"}


def test_retries_try_transient_failures_again_and_nothing_else() -> None:
    calls: list[int] = []

    def flaky_twice() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise StorageError("503")
        return "done"

    pauses: list[float] = []
    assert Retries(sleep=pauses.append).call(flaky_twice) == "done"
    assert pauses == [1.0, 2.0]

    def refused() -> None:
        calls.append(1)
        raise PreconditionFailedError("412")

    calls.clear()
    with pytest.raises(PreconditionFailedError):  # an answer, not a failure: not tried again
        Retries(pause=0).call(refused)
    assert len(calls) == 1
    assert is_transient(TimeoutError())
    assert is_transient(TableLoaderError("503"))
    assert not is_transient(ValueError("a bug"))


def test_a_listing_that_fails_part_way_resumes_without_repeating() -> None:
    store = MemoryBlobStore("b")
    for number in range(6):
        store.put("b", f"o{number}", b"")
    broken = FlakyBlobStore(store, Faults(11, after=0.6))
    names: list[Any] = [
        info.name for info in Retries(attempts=20, pause=0).listing(lambda: broken.list("b", ""))
    ]
    assert names == [f"o{number}" for number in range(6)]
