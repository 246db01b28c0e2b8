"""An in-memory warehouse that keeps the daily tables too, and its flaky wrapper: the
:class:`~linehaul.pipeline.daily_ports.Aggregator` port beside the in-memory TableLoader, for fast tests.

:class:`MemoryWarehouse` is a :class:`~linehaul.testing.memory.MemoryTableLoader` whose loads and
aggregation jobs record when they wrote each day's partition (a clock of its own that only moves forward),
as BigQuery's partition metadata does; an aggregation job computes the day's rows with the same SQL as
BigQuery's job, on DuckDB (:func:`linehaul.daily.offline.aggregate_rows`), and replaces the partition whole.
``tests/pipeline/test_aggregator_contract.py`` holds it to the BigQuery emulator.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from linehaul.daily.freshness import Partitions, PartitionState
from linehaul.daily.offline import aggregate_rows
from linehaul.daily.shape import DailyTable
from linehaul.pipeline.ports import JobExistsError, LoadError, LoadJob, Schema, TableRef
from linehaul.testing.faults import Faults, FlakyTableLoader, _act, _loader
from linehaul.testing.memory import MemoryBlobStore, MemoryTableLoader

_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
Rows = list[dict[str, Any]]


def day_of(row: Mapping[str, Any]) -> date:
    """The partition of a row of ``file_downloads`` (its timestamp's day) or of a daily table."""
    found = row.get("date")
    return found if isinstance(found, date) else date.fromisoformat(str(row["timestamp"])[:10])


class MemoryWarehouse(MemoryTableLoader):
    """A MemoryTableLoader that also aggregates into the daily tables (see the module doc)."""

    def __init__(self, store: MemoryBlobStore, *, datasets: set[str] | None = None) -> None:
        super().__init__(store, datasets=datasets)
        self.written: dict[tuple[str, date], datetime] = {}  # (table, day) -> when last written
        self._ticks = itertools.count(1)
        self._computed: dict[tuple[str, date, int], dict[DailyTable, Rows]] = {}

    def _stamp(self, table: str, days: Iterable[date]) -> None:
        moment = _EPOCH + timedelta(seconds=next(self._ticks))
        for day in days:
            self.written[(table, day)] = moment

    def start_load(self, job_id: str, uris: Sequence[str], table: TableRef, schema: Schema) -> None:
        before = len(self.tables.get(str(table), []))
        super().start_load(job_id, uris, table, schema)
        if self.jobs[job_id].succeeded:
            self._stamp(str(table), {day_of(row) for row in self.tables[str(table)][before:]})

    def partitions(self, source: TableRef, tables: Sequence[str]) -> Mapping[str, Partitions]:
        found: dict[str, Partitions] = {}
        for name in [source.table, *tables]:
            ref = str(TableRef(source.project, source.dataset, name))
            counts = Counter(day_of(row) for row in self.tables.get(ref, []))
            written = self.written
            found[name] = {day: PartitionState(count, written[(ref, day)]) for day, count in counts.items()}
        return found

    def start_aggregate(self, job_id: str, source: TableRef, table: DailyTable, day: date) -> None:
        if job_id in self.jobs:
            raise JobExistsError(job_id)
        destination = TableRef(source.project, source.dataset, table.name)
        refused = self.refusals.get(destination)
        if self.datasets is not None and f"{source.project}.{source.dataset}" not in self.datasets:
            refused = LoadError("notFound", f"Not found: Dataset {source.project}:{source.dataset}")
        if refused is not None:
            self.jobs[job_id] = LoadJob(job_id, "DONE", error=refused.message, errors=(refused,))
            return
        rows = [row for row in self.tables.get(str(source), []) if day_of(row) == day]
        key = (str(source), day, len(rows))  # rows are only ever added: their number says which
        if key not in self._computed:
            self._computed[key] = aggregate_rows(rows, day)
        kept = [row for row in self.tables.get(str(destination), []) if day_of(row) != day]
        self.tables[str(destination)] = kept + self._computed[key][table]
        self._stamp(str(destination), [day])
        self.jobs[job_id] = LoadJob(job_id, "DONE")

    def daily_rows(self, destination: TableRef) -> Rows:
        """The rows of a daily table: for tests' end-state assertions."""
        return self.tables.get(str(destination), [])


class FlakyAggregator(FlakyTableLoader):
    """A :class:`MemoryWarehouse` (or any TableLoader and Aggregator) failing now and then, as
    :class:`~linehaul.testing.faults.FlakyTableLoader` does: before acting, after acting (the answer
    lost: a job insert's retry finds its job), or timing out."""

    def __init__(self, inner: MemoryWarehouse, faults: Faults) -> None:
        super().__init__(inner, faults)
        self.warehouse = inner

    def partitions(self, source: TableRef, tables: Sequence[str]) -> Mapping[str, Partitions]:
        fate = self.faults.fate("partitions", str(source))
        read = self.warehouse.partitions
        found: Mapping[str, Partitions] = _act(fate, lambda: read(source, tables), _loader(str(source)))
        return found

    def start_aggregate(self, job_id: str, source: TableRef, table: DailyTable, day: date) -> None:
        def job_exists() -> None:
            raise JobExistsError(f"query job {job_id!r} was submitted before (a retry, injected)")

        fate = self.faults.fate("start_aggregate", job_id)
        aggregate = self.warehouse.start_aggregate
        _act(fate, lambda: aggregate(job_id, source, table, day), _loader(job_id), job_exists)
