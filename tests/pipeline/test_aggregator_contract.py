"""The Aggregator contract, run against the in-memory warehouse and against BigQuery (the local emulator with
linehaul.local.bqcompat): a day's job writes exactly the counts of that day's rows and replaces the
partition whole, the partitions say when they were written, job ids are never reused, a failure is in the
job's state."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from linehaul.daily.freshness import in_step
from linehaul.daily.shape import DAILY_TABLES, OVERALL, daily_table_of
from linehaul.pipeline.daily_ports import Aggregator
from linehaul.pipeline.naming import object_uri
from linehaul.pipeline.ports import BlobStore, JobExistsError, TableLoader, TableRef
from linehaul.schema import load_schema
from linehaul.tables import Table
from linehaul.testing.memory import MemoryBlobStore
from tests.daily_counts import differences
from tests.pipeline.daily_fakes import MemoryWarehouse

Rows = list[dict[str, Any]]
NOV_1, NOV_2 = date(2026, 11, 1), date(2026, 11, 2)
NAMES = [table.name for table in DAILY_TABLES]


@dataclass(frozen=True, slots=True)
class Target:
    """A warehouse under test (loads and aggregations), where its files are, and how to read a table."""

    loader: TableLoader
    aggregator: Aggregator
    store: BlobStore
    bucket: str
    source: TableRef
    rows: Callable[[str], Rows]

    def load(self, rows: Rows) -> None:
        name = f"{uuid.uuid4().hex}.json"
        self.store.put(self.bucket, name, "".join(json.dumps(row) + "\n" for row in rows).encode())
        job_id = f"load-{uuid.uuid4().hex}"
        self.loader.start_load(
            job_id, [object_uri(self.bucket, name)], self.source, load_schema(Table.FILE_DOWNLOADS)
        )
        assert self.loader.wait(job_id, 60).succeeded

    def aggregate(self, day: date, *, tables: Any = DAILY_TABLES) -> None:
        for table in tables:
            job_id = f"aggregate-{uuid.uuid4().hex}"
            self.aggregator.start_aggregate(job_id, self.source, table, day)
            job = self.aggregator.wait(job_id, 60)
            assert job.succeeded, job.error


@pytest.fixture(params=["memory", pytest.param("bigquery", marks=pytest.mark.integration)])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if request.param == "memory":
        store = MemoryBlobStore("staging")
        warehouse = MemoryWarehouse(store, datasets={"proj.pypi"})
        source = TableRef("proj", "pypi", "file_downloads")
        yield Target(warehouse, warehouse, store, "staging", source, lambda name: warehouse.rows(
            TableRef("proj", "pypi", name)))  # fmt: skip
        return
    from linehaul.gcp.daily import BigQueryAggregator

    admin, stack = request.getfixturevalue("bigquery_admin"), request.getfixturevalue("local_stack")
    source = request.getfixturevalue("downloads_table")
    yield Target(
        request.getfixturevalue("table_loader"),
        BigQueryAggregator(stack.bigquery_client()),
        request.getfixturevalue("blob_store"),
        request.getfixturevalue("bucket"),
        source,
        lambda name: admin.query(f"SELECT * FROM `{source.project}.{source.dataset}.{name}`"),
    )


def on(day: date, rows: Rows) -> Rows:
    return [dict(row, timestamp=f"{day.isoformat()}T{row['timestamp'][11:]}") for row in rows]


def test_a_job_writes_the_counts_of_its_day_in_every_table(target: Target, downloads: Rows) -> None:
    rows = on(NOV_1, downloads[:40]) + on(NOV_2, downloads[40:])
    target.load(rows)
    target.aggregate(NOV_1)
    for table in DAILY_TABLES:
        assert differences(table, on(NOV_1, downloads[:40]), target.rows(table.name)) == []


def test_a_job_replaces_its_partition_whole_and_leaves_the_others(target: Target, downloads: Rows) -> None:
    installer = daily_table_of("installer")
    assert installer is not None
    target.load(on(NOV_1, downloads[:20]) + on(NOV_2, downloads[20:30]))
    target.aggregate(NOV_1, tables=[OVERALL, installer])
    target.aggregate(NOV_2, tables=[OVERALL, installer])
    target.load(on(NOV_1, downloads[30:50]))  # late rows of the first day
    target.aggregate(NOV_1, tables=[OVERALL, installer])
    expected = on(NOV_1, downloads[:20]) + on(NOV_2, downloads[20:30]) + on(NOV_1, downloads[30:50])
    for table in (OVERALL, installer):
        assert differences(table, expected, target.rows(table.name)) == []


def test_partitions_say_which_days_are_in_step(target: Target, downloads: Rows) -> None:
    target.load(on(NOV_1, downloads[:10]) + on(NOV_2, downloads[10:20]))
    before = target.aggregator.partitions(target.source, NAMES)
    assert {day: state.rows for day, state in before[target.source.table].items()} == {NOV_1: 10, NOV_2: 10}
    assert before["downloads_daily"] == {}
    target.aggregate(NOV_1, tables=[OVERALL])
    after = target.aggregator.partitions(target.source, NAMES)
    rows, daily = after[target.source.table], after["downloads_daily"]
    assert set(daily) == {NOV_1}
    assert in_step(rows.get(NOV_1), daily.get(NOV_1))
    assert not in_step(rows.get(NOV_2), daily.get(NOV_2))
    target.load(on(NOV_1, downloads[20:25]))
    late = target.aggregator.partitions(target.source, NAMES)
    assert not in_step(late[target.source.table].get(NOV_1), late["downloads_daily"].get(NOV_1))
    assert late[target.source.table][NOV_2] == rows[NOV_2]


def test_a_job_id_is_never_reused(target: Target, downloads: Rows) -> None:
    target.load(on(NOV_1, downloads[:10]))
    job_id = f"aggregate-{uuid.uuid4().hex}"
    assert target.aggregator.job(job_id) is None
    with pytest.raises(LookupError):
        target.aggregator.wait(job_id, 1)
    target.aggregator.start_aggregate(job_id, target.source, OVERALL, NOV_1)
    assert target.aggregator.wait(job_id, 60).succeeded
    with pytest.raises(JobExistsError):
        target.aggregator.start_aggregate(job_id, target.source, OVERALL, NOV_1)
    assert sum(row["downloads"] for row in target.rows(OVERALL.name)) == 10


def test_a_missing_dataset_fails_the_job_naming_no_file(target: Target) -> None:
    elsewhere = TableRef(target.source.project, f"missing_{uuid.uuid4().hex[:8]}", "file_downloads")
    job_id = f"aggregate-{uuid.uuid4().hex}"
    target.aggregator.start_aggregate(job_id, elsewhere, OVERALL, NOV_1)
    job = target.aggregator.wait(job_id, 60)
    assert job.failed
    assert [error.reason for error in job.errors] == ["notFound"]
