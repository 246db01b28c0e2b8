"""A flaky cloud, seed after seed: every port call may fail before acting, act and then fail, or time out.

Whatever fails, once the pipeline has settled every staged row is in BigQuery exactly once (nothing
duplicated, nothing lost), nothing is left staged, and it settled in a bounded number of runs with the
clock never near the lease's ``LOCK_SECONDS``: no run waited for a lease to expire.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import random
from dataclasses import replace
from functools import cache
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from linehaul.convert import Converter
from linehaul.converted import Converted
from linehaul.logs.sample import sample_lines
from linehaul.pipeline.ingest import ingest_log
from linehaul.pipeline.lease import is_held
from linehaul.pipeline.ports import TableRef
from linehaul.pipeline.publish import publish
from linehaul.pipeline.request import PublishRequest
from linehaul.pipeline.retries import Retries
from linehaul.pipeline.settings import IngestSettings
from linehaul.testing import Faults, FlakyBlobStore, FlakyTableLoader, MemoryBlobStore, MemoryTableLoader
from tests.pipeline.helpers import SETTINGS, Clock, stage, staged_rows

PARTITION = "20261101"
DOWNLOADS = TableRef("proj", "pypi", "file_downloads")
SIMPLE = TableRef("proj", "pypi", "simple_requests")
RATES = {"before": 0.1, "after": 0.1, "timeout": 0.05}  # one port call in four fails
# The ingestor does not retry calls itself (a failed delivery is delivered again, and each makes about 15
# calls): one call in twenty fails.
INGEST_RATES = {"before": 0.02, "after": 0.02, "timeout": 0.01}
MAX_DELIVERIES = 60  # of the 6 events (3 logs, each delivered twice)
NO_PAUSE = Retries(pause=0.0)  # the run's own retries, without sleeping
FLAKY = replace(SETTINGS, max_blobs_per_run=3, lock_seconds=600.0)
LINES = 40  # lines of each staged log: small files, quick loads
MAX_RUNS = 15  # publisher runs to settle: 4 batches of 3 files at most, and the failed runs on the way


def canonical(rows: list[Any]) -> list[str]:
    """Rows as sorted canonical JSON: equal lists mean the same rows, each as many times."""
    return sorted(
        json.dumps(row if isinstance(row, dict) else json.loads(row), sort_keys=True) for row in rows
    )


def settled(store: MemoryBlobStore, clock: Clock) -> bool:
    return not store.names("staging", "processed/") and not is_held(store, "staging", clock.now())


def publish_until_settled(
    store: MemoryBlobStore, loader: MemoryTableLoader, faults: Faults, clock: Clock
) -> int:
    """Publisher runs, each through the flaky ports, until the pipeline settles; returns how many."""
    runs = 0
    while not settled(store, clock):
        runs += 1
        assert runs <= MAX_RUNS, f"not settled after {MAX_RUNS} runs ({faults.total()} faults injected)"
        run(store, loader, faults, clock)
    return runs


def run(store: MemoryBlobStore, loader: MemoryTableLoader, faults: Faults, clock: Clock) -> None:
    """One publisher run; a run that fails is what the function's retry or the next message follows."""
    request = PublishRequest(partition=PARTITION, continue_publishing=True)
    flaky_store, flaky_loader = FlakyBlobStore(store, faults), FlakyTableLoader(loader, faults)
    with contextlib.suppress(Exception):  # a failed run answers 500; the next message comes
        publish(
            flaky_store, flaky_loader, FLAKY, request, now=clock.now, clock=clock.monotonic, retries=NO_PAUSE
        )
    clock.advance(5)  # far from the lease's 600 s


@settings(max_examples=settings().max_examples * 3 // 2)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_publishing_through_flaky_ports_loads_every_staged_row_once(seed: int) -> None:
    store = MemoryBlobStore("logs", "staging")
    loader = MemoryTableLoader(store)
    stage(store, PARTITION, 5, lines=LINES)
    faults = Faults(seed, **RATES)
    publish_until_settled(store, loader, faults, Clock())
    downloads, simple = zip(*(staged_rows(number, LINES) for number in range(1, 6)), strict=True)
    assert canonical(loader.rows(DOWNLOADS)) == canonical(b"".join(downloads).decode().splitlines())
    assert canonical(loader.rows(SIMPLE)) == canonical(b"".join(simple).decode().splitlines())
    assert store.names("staging", "processed/") == []


@cache
def logs() -> dict[str, bytes]:
    """Three small gzipped logs, by object name."""
    return {
        f"2026/11/01/cdn-{number}.log.gz": gzip.compress(
            ("\n".join(sample_lines(100, seed=number)) + "\n").encode()
        )
        for number in (1, 2, 3)
    }


@cache
def parsed() -> tuple[list[str], list[str]]:
    """The rows of :func:`logs`, parsed here: (file_downloads, simple_requests), canonical."""
    converted = Converted()
    for data in logs().values():
        Converter().convert_block(gzip.decompress(data), converted)
    return canonical(converted.downloads), canonical(converted.simple)


@settings(max_examples=settings().max_examples * 2 // 5)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_both_functions_through_flaky_ports_load_every_line_once(seed: int) -> None:
    """Three logs, each event delivered twice (and again while the ingestor fails), publisher runs between
    deliveries: every row of every log in its table once."""
    store = MemoryBlobStore("logs", "staging")
    loader = MemoryTableLoader(store)
    faults = Faults(seed, **INGEST_RATES)
    order = random.Random(seed)
    events = [(name, store.put("logs", name, data)) for name, data in logs().items()] * 2
    order.shuffle(events)
    flaky = FlakyBlobStore(store, faults)
    clock, deliveries = Clock(), 0
    while events:
        name, generation = events.pop(0)
        deliveries += 1
        assert deliveries <= MAX_DELIVERIES, "the ingestor did not get through"
        try:
            ingest_log(flaky, "logs", name, IngestSettings(staging_bucket="staging"), generation=generation)
        except Exception:  # Cloud Functions delivers the event again
            events.append((name, generation))
        if order.random() < 0.5:
            run(store, loader, faults, clock)
    publish_until_settled(store, loader, faults, clock)
    assert (canonical(loader.rows(DOWNLOADS)), canonical(loader.rows(SIMPLE))) == parsed()
    assert store.names("logs", "2026/") == []
