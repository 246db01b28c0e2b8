"""Failed loads, seed after seed: some staged files are bad, BigQuery has outages that no file causes (a
missing dataset, a table of another schema, access, quota, backend errors) that come and go between runs,
and the ports fail now and then as the real services do.

After every run: nothing but a bad file was ever quarantined, and the run spent at most MAX_FAILED_JOBS
failed load jobs. Once the outages are over and the pipeline has settled: every good row is in BigQuery
exactly once, every bad file (and only they) in quarantine, nothing left staged, the lease free.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from dataclasses import replace

from hypothesis import event, given, settings
from hypothesis import strategies as st

from linehaul.pipeline.lease import is_held
from linehaul.pipeline.ports import LoadError, TableRef
from linehaul.pipeline.publish import MAX_FAILED_JOBS, publish
from linehaul.pipeline.request import PublishRequest
from linehaul.pipeline.retries import Retries
from linehaul.schema import load_schema
from linehaul.tables import Table
from linehaul.testing import Faults, FlakyBlobStore, FlakyTableLoader, MemoryBlobStore, MemoryTableLoader
from tests.pipeline.helpers import SETTINGS, Clock, staged_rows
from tests.property.test_flaky_pipeline import canonical

TABLES = {table: TableRef("proj", "pypi", table.value) for table in Table}
PARTITIONS = ("20190314", "20201231", "20210107", "20261101")
LINES = 30
BAD = b'{"timestamp": "2021-01-07T00:00:00Z", "url": "/x"}\n{"timestamp": "soon", "url": "/y"}\n'
RATES = {"before": 0.03, "after": 0.03, "timeout": 0.01}
SETTLED = replace(SETTINGS, max_blobs_per_run=4, retry_seconds=300.0)
NO_PAUSE = Retries(pause=0.0)
OUTAGE_RUNS = 12  # runs while outages come and go
MAX_SETTLING_RUNS = 25


def outage(rng: random.Random, loader: MemoryTableLoader) -> Callable[[], None]:
    """Break BigQuery for one table (or the dataset) in one of the ways no file causes; returns the fix."""
    table = TABLES[rng.choice(list(Table))]
    kind = rng.choice(["dataset", "schema", "accessDenied", "quotaExceeded", "backendError"])
    right = table_schema(table)

    def fix() -> None:
        if kind == "dataset":
            loader.datasets = None
        elif kind == "schema":
            loader.schemas[str(table)] = right  # migrated, its rows kept
        else:
            loader.refusals.pop(table, None)

    if kind == "dataset":
        loader.datasets = set()
    elif kind == "schema":
        loader.schemas[str(table)] = [column for column in right if column["name"] != "country_code"]
    else:
        loader.refusals[table] = LoadError(kind, f"{kind} on {table}")
    return fix


def table_schema(table: TableRef) -> list[dict[str, object]]:
    return [dict(column) for column in load_schema(Table(table.table))]


def failed_jobs(loader: MemoryTableLoader) -> int:
    return sum(job.failed for job in loader.jobs.values())


@settings(max_examples=settings().max_examples * 6 // 5)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_only_bad_files_are_quarantined_and_every_good_row_loads_once(seed: int) -> None:
    rng = random.Random(seed)
    clock = Clock()
    store = MemoryBlobStore("staging", now=clock.now)
    loader = MemoryTableLoader(store)
    for ref in TABLES.values():  # the tables exist, as `linehaul schema apply` makes them
        loader.create_table(ref, table_schema(ref))
    logs = rng.randint(3, 10)
    bad = set(rng.sample(range(1, logs + 1), rng.randint(0, min(3, logs))))
    expected: dict[Table, list[str]] = {table: [] for table in Table}
    for number in range(1, logs + 1):
        partition = rng.choice(PARTITIONS)
        downloads, simple = staged_rows(number, LINES)
        store.put(
            "staging",
            f"processed/{partition}/downloads-log{number:05d}.json",
            BAD if number in bad else downloads,
        )
        store.put("staging", f"processed/{partition}/simple-log{number:05d}.json", simple)
        if number not in bad:
            expected[Table.FILE_DOWNLOADS] += downloads.decode().splitlines()
        expected[Table.SIMPLE_REQUESTS] += simple.decode().splitlines()
    bad_files = {name for name in store.names("staging", "processed/") if name.endswith(
        tuple(f"downloads-log{number:05d}.json" for number in bad))}  # fmt: skip
    faults = Faults(seed, **RATES)
    fixes: list[Callable[[], None]] = []

    def run() -> None:
        before = failed_jobs(loader)
        request = PublishRequest() if rng.random() < 0.7 else PublishRequest(rng.choice(PARTITIONS), True)
        with contextlib.suppress(Exception):  # a run that fails answers 503: the next message comes
            report = publish(FlakyBlobStore(store, faults), FlakyTableLoader(loader, faults), SETTLED,
                             request, now=clock.now, clock=clock.monotonic, retries=NO_PAUSE)  # fmt: skip
            event(f"a run stopped: {report.stopped}")
        assert failed_jobs(loader) - before <= MAX_FAILED_JOBS
        quarantined = {name.removeprefix("quarantine/") for name in store.names("staging", "quarantine/")}
        assert quarantined <= bad_files, f"good files quarantined: {sorted(quarantined - bad_files)}"
        clock.advance(rng.choice([10, 60, 400]))

    for _ in range(OUTAGE_RUNS):
        if fixes and rng.random() < 0.4:
            fixes.pop()()
        elif rng.random() < 0.4:
            fixes.append(outage(rng, loader))
        run()
    while fixes:
        fixes.pop()()
    for runs in range(MAX_SETTLING_RUNS + 1):
        if not store.names("staging", "processed/") and not is_held(store, "staging", clock.now()):
            break
        assert runs < MAX_SETTLING_RUNS, f"not settled ({faults.total()} faults injected)"
        clock.advance(SETTLED.retry_seconds)
        run()
    for table, rows in expected.items():
        assert canonical(loader.rows(TABLES[table])) == canonical(rows)
    assert {name.removeprefix("quarantine/") for name in store.names("staging", "quarantine/")} == bad_files
