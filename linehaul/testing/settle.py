"""The whole pipeline on a flaky local cloud: how long it takes to settle, and whether every row lands once.

:func:`settle` puts a :class:`~linehaul.testing.FlakyProxy` in front of each emulator, serves the real
ingestor and publisher functions (functions-framework, as :mod:`linehaul.local.runner` does) talking
through the proxies, then plays an operator's day:

* each log is uploaded (straight to fake GCS: that is the CDN's write, not ours) and its storage event is
  delivered ``deliveries`` times (Cloud Storage delivers at least once), several at a time, in a seeded
  order; a delivery the ingestor answers with an error is delivered again, as Cloud Functions retries;
* meanwhile, every ``pause`` seconds, each partition that has staged files gets a Pub/Sub message with
  ``continue_publishing=true``: the scheduler's message, or Pub/Sub's redelivery of a failed one;
* the pipeline has *settled* when every delivery was answered, the logs are gone, nothing is staged under
  ``processed/``, no upload part is left, no run holds the publisher's lease, and no complete day waits
  to be aggregated into the daily tables (when only that is left, the scheduler's message, without
  attributes, is sent).

It counts what an operator would look at: requests failed by the proxies, deliveries and redeliveries,
publisher runs (and how many failed, or found the lease held), rows per table against the counts of parsing
the same logs locally, whether every row of the daily tables is the count of ``file_downloads``
(:func:`linehaul.gcp.daily.check_daily_tables`), and the seconds from the first upload to settling.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linehaul.convert import Converter
from linehaul.converted import Converted
from linehaul.gcp.clients import BIGQUERY_EMULATOR_HOST, STORAGE_EMULATOR_HOST
from linehaul.gcp.daily import BigQueryAggregator, check_daily_tables
from linehaul.local.resources import DATASET, LOGS_BUCKET, STAGING_BUCKET
from linehaul.local.runner import RunError, function_source, ingest_settings, provision, publish_settings
from linehaul.logs.counts import ReadCounts
from linehaul.logs.files import read_blocks
from linehaul.pipeline.daily import days_waiting
from linehaul.pipeline.lease import is_held
from linehaul.pipeline.naming import (
    is_quarantined,
    log_object_name,
    partition_in,
    parts_prefix,
    staged_prefix,
)
from linehaul.pipeline.ports import TableRef
from linehaul.pipeline.settings import PublishSettings
from linehaul.runtime.entry_points import INGESTOR, PUBLISHER
from linehaul.tables import Output, Table
from linehaul.testing.proxy import FlakyCounts, FlakyProxy

if TYPE_CHECKING:
    from linehaul.local.functions import FunctionServer
    from linehaul.local.stack import LocalStack

__all__ = ["FlakyPlan", "SettleReport", "expected_counts", "settle"]

_TRIES = 20  # deliveries of one storage event before the run gives up on it


@dataclass(frozen=True, slots=True)
class FlakyPlan:
    """How flaky the cloud is, and how the day is played (see the module docstring)."""

    fail_before: float = 0.05
    fail_after: float = 0.05
    seed: int = 1
    deliveries: int = 2
    lock_seconds: float = 600.0
    max_runs: int = 100
    pause: float = 1.0
    concurrency: int = 4


@dataclass(frozen=True, slots=True)
class SettleReport:
    """What happened, and where every row ended (``loaded`` against ``expected``, the parse counts)."""

    settled: bool
    seconds: float
    storage: FlakyCounts
    bigquery: FlakyCounts
    deliveries: int
    redeliveries: int
    runs: int
    runs_failed: int
    runs_busy: int
    expected: ReadCounts
    loaded: dict[Table, int] = field(default_factory=dict)
    staged_left: int = 0
    parts_left: int = 0
    lease_left: bool = False
    run_errors: tuple[str, ...] = ()
    recovered: int = 0
    daily: tuple[int, int, int] = (0, 0, 0)  # the daily tables' days, rows, and rows that differ (issue 29)

    @property
    def daily_in_step(self) -> bool:
        """Every row of the daily tables is the count of ``file_downloads``, and they hold some."""
        return self.daily[1] > 0 and self.daily[2] == 0

    @property
    def exactly_once(self) -> bool:
        """Every row the logs hold is in BigQuery, once."""
        return self.loaded == {table: self.expected_rows(table) for table in Table}

    def expected_rows(self, table: Table) -> int:
        return self.expected.rows(table)

    def lines(self) -> list[str]:
        outcome = (
            f"settled in {self.seconds:.1f} s" if self.settled else f"NOT settled after {self.seconds:.1f} s"
        )
        rows = ", ".join(
            f"{table.value} {self.loaded.get(table, 0):,} of {self.expected_rows(table):,}" for table in Table
        )
        return [
            f"{outcome}: {'exactly once' if self.exactly_once else 'ROWS DIFFER'} ({rows})",
            f"storage proxy: {self.storage.line()}",
            f"bigquery proxy: {self.bigquery.line()}",
            f"ingestor: {self.deliveries} deliveries, {self.redeliveries} of them after a failed one",
            f"publisher: {self.runs} runs, {self.runs_failed} failed, {self.runs_busy} found the lease held; "
            f"{self.recovered} failed or ambiguous calls tried again or read back",
            *(f"  failed with {error}" for error in self.run_errors),
            f"left: {self.staged_left} staged files, {self.parts_left} upload parts, "
            f"lease {'held' if self.lease_left else 'free'}",
            f"daily tables: {self.daily[0]} days, {self.daily[1]:,} rows, {self.daily[2]} differing from "
            "file_downloads",
        ]


def expected_counts(logs: Sequence[Path]) -> ReadCounts:
    """Where the lines of ``logs`` go when parsed here, with the converter the ingestor uses."""
    total = ReadCounts()
    for log in logs:
        converter, counts = Converter(), ReadCounts(files=1)
        for block in read_blocks(str(log)):
            converted = Converted()
            converter.convert_block(block, converted)
            counts += ReadCounts.of(converted)
        total += counts
    return total


def settle(stack: LocalStack, logs: Sequence[Path], plan: FlakyPlan = FlakyPlan()) -> SettleReport:
    """Play the day of the module docstring on ``stack`` (provisioned here) and report how it ended."""
    from linehaul.local.functions import FunctionServer

    provision(stack)
    expected = expected_counts(logs)
    with (
        FlakyProxy(stack.gcs_url, fail_before=plan.fail_before, fail_after=plan.fail_after,
                   seed=plan.seed) as storage,
        FlakyProxy(stack.bq_url, fail_before=plan.fail_before, fail_after=plan.fail_after,
                   seed=plan.seed + 1) as bigquery,
    ):  # fmt: skip
        proxied = {**stack.env, STORAGE_EMULATOR_HOST: storage.url, BIGQUERY_EMULATOR_HOST: bigquery.url}
        publishing = replace(publish_settings(stack), lock_seconds=plan.lock_seconds)
        ingestor = FunctionServer(
            function_source(INGESTOR.module),
            INGESTOR.name,
            env={**proxied, **ingest_settings().to_env()},
        )
        publisher = FunctionServer(
            function_source(PUBLISHER.module),
            PUBLISHER.name,
            env={**proxied, **publishing.to_env()},
        )
        with ingestor, publisher:
            day = _Day(stack, ingestor, publisher, plan)
            day.settings = publishing
            started = time.monotonic()
            day.ingest(logs)
            settled = day.publish_until_settled()
            seconds = time.monotonic() - started
            day.wait_for_ingestor()
            runs_busy, run_errors, recovered = day.busy_runs(), day.run_errors(), day.recovered()
        storage_counts, bigquery_counts = storage.counts(), bigquery.counts()
    admin, store = stack.bigquery_admin(), stack.blob_store()
    loaded = {table: admin.count_rows(TableRef(stack.project, DATASET, table.value)) for table in Table}
    source = TableRef(stack.project, DATASET, Table.FILE_DOWNLOADS.value)
    return SettleReport(
        settled=settled,
        seconds=seconds,
        storage=storage_counts,
        bigquery=bigquery_counts,
        deliveries=day.deliveries,
        redeliveries=day.redeliveries,
        runs=day.runs,
        runs_failed=day.runs_failed,
        runs_busy=runs_busy,
        expected=expected,
        loaded=loaded,
        staged_left=len(day.staged()),
        parts_left=sum(1 for _ in store.list(STAGING_BUCKET, parts_prefix())),
        lease_left=is_held(store, STAGING_BUCKET, datetime.now(UTC)),
        run_errors=run_errors,
        recovered=recovered,
        daily=check_daily_tables(stack.bigquery_client(), source),
    )


class _Day:
    """The deliveries of one :func:`settle` run, and their tallies."""

    def __init__(
        self, stack: LocalStack, ingestor: FunctionServer, publisher: FunctionServer, plan: FlakyPlan
    ) -> None:
        self.stack, self.ingestor, self.publisher, self.plan = stack, ingestor, publisher, plan
        self.store = stack.blob_store()  # straight to fake GCS: the operator's view, never failed
        self.pool = ThreadPoolExecutor(plan.concurrency)
        self.pending: list[Future[None]] = []
        self.deliveries = self.redeliveries = self.runs = self.runs_failed = 0
        self.lock = threading.Lock()  # the deliveries' tallies are counted from several threads
        self.settings: PublishSettings | None = None

    def ingest(self, logs: Sequence[Path]) -> None:
        """Upload the logs and queue ``deliveries`` storage events for each, in a seeded order."""
        events = []
        for log in logs:
            name = log_object_name(datetime.now(UTC).date(), log.name)
            generation = self.store.put(LOGS_BUCKET, name, log.read_bytes(), content_type="application/gzip")
            events += [(name, generation)] * self.plan.deliveries
        random.Random(self.plan.seed).shuffle(events)
        self.pending = [self.pool.submit(self._deliver, name, generation) for name, generation in events]

    def _deliver(self, name: str, generation: int) -> None:
        for attempt in range(_TRIES):
            with self.lock:
                self.deliveries += 1
                self.redeliveries += attempt > 0
            if self.ingestor.storage_finalized(LOGS_BUCKET, name, generation).ok:
                return
        raise RunError(f"the ingestor failed {_TRIES} times on {name}:\n{self.ingestor.output()}")

    def publish_until_settled(self) -> bool:
        """Send publisher messages every ``pause`` seconds (not waiting for the runs before: Pub/Sub does
        not) until the pipeline settles (True) or ``max_runs`` were sent (False)."""
        runs: list[Future[None]] = []
        with ThreadPoolExecutor(self.plan.concurrency) as scheduler:
            while len(runs) < self.plan.max_runs:
                if all(future.done() for future in [*self.pending, *runs]) and self._settled():
                    return True
                partitions = sorted({partition_in(name) or "" for name in self.staged()} - {""})
                if not partitions and self._days_waiting():  # the scheduler's message aggregates them
                    partitions = [""]
                free = self.plan.concurrency - sum(not future.done() for future in runs)
                # at most `concurrency` runs at a time: Cloud Functions would queue the rest
                runs += [
                    scheduler.submit(self._publish, partition) for partition in partitions[: max(0, free)]
                ]
                time.sleep(self.plan.pause)
            for future in runs:
                future.result()
        return all(future.done() for future in self.pending) and self._settled()

    def _publish(self, partition: str) -> None:
        attributes = {"partition": partition, "continue_publishing": "true"} if partition else {}
        ok = self.publisher.pubsub_message(b"publish", attributes).ok
        with self.lock:
            self.runs += 1
            self.runs_failed += not ok

    def wait_for_ingestor(self) -> None:
        self.pool.shutdown()
        for future in self.pending:
            future.result()  # a delivery that failed every time is an error of the run

    def staged(self) -> list[str]:
        return [
            info.name
            for output in Output.of_rows()
            for info in self.store.list(STAGING_BUCKET, staged_prefix(output))
        ]

    def _settled(self) -> bool:
        logs_left = next(
            (info for info in self.store.list(LOGS_BUCKET, "") if not is_quarantined(info.name)), None
        )
        parts_left = next(iter(self.store.list(STAGING_BUCKET, parts_prefix(), limit=1)), None)
        return (
            logs_left is None
            and parts_left is None
            and not self.staged()
            and not is_held(self.store, STAGING_BUCKET, datetime.now(UTC))
            and not self._days_waiting()
        )

    def _days_waiting(self) -> int:
        """Complete days not aggregated yet (asked of the emulator directly: the operator's view)."""
        if self.settings is None:
            return 0
        aggregator = BigQueryAggregator(self.stack.bigquery_client())
        return days_waiting(aggregator, self.store, self.settings, datetime.now(UTC))

    def run_errors(self) -> tuple[str, ...]:
        """The errors that failed publisher runs (the message of each ERROR line the function logged)."""
        errors = (record for record in self._records() if record.get("severity") == "ERROR")
        return tuple(str(record.get("error") or record.get("message"))[:200] for record in errors)

    def busy_runs(self) -> int:
        """Publisher runs that found the lease held (from the function's log lines)."""
        return sum(record.get("lease") == "busy" for record in self._records())

    def recovered(self) -> int:
        """Calls that publisher runs tried again or read back (from the function's log lines)."""
        return sum(int(record.get("recovered", 0)) for record in self._records())

    def _records(self) -> Iterator[dict[str, Any]]:
        """The JSON log lines of the publisher's runs."""
        for line in self.publisher.output(tail=None).splitlines():
            if line.startswith("{"):
                try:
                    yield json.loads(line)
                except ValueError:
                    continue
