"""The daily tables on the local cloud, through the pipeline: a month of logs delivered out of order, some
after their day was aggregated, and crashes while aggregating; once settled, every row of every daily
table is the count of the rows the logs hold (counted in Python: tests/daily_counts.py), every day and
field (through a flaky cloud: tests/integration/test_flaky_cloud.py). The figures are printed (run with -s
to see them)."""

from __future__ import annotations

import gzip
import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import pytest

from linehaul import Converted, Converter
from linehaul.daily.shape import DAILY_TABLES
from linehaul.daily.sql import midnight
from linehaul.gcp import BigQueryAdmin, BigQueryTableLoader, GcsBlobStore
from linehaul.gcp.daily import BigQueryAggregator, check_daily_tables
from linehaul.local import LocalStack
from linehaul.logs.sample import sample_lines
from linehaul.pipeline.ingest import KeptConverters, ingest_log
from linehaul.pipeline.naming import log_object_name
from linehaul.pipeline.ports import TableRef
from linehaul.pipeline.publish import PublishReport, publish
from linehaul.pipeline.request import PublishRequest
from linehaul.pipeline.settings import IngestSettings, PublishSettings
from linehaul.schema import load_schema
from linehaul.tables import Table
from tests.cloud import PROJECT
from tests.daily_counts import differences
from tests.pipeline.helpers import CrashError, Crashing

pytestmark = pytest.mark.integration

DAYS = [date(2026, 10, 1) + timedelta(days=offset) for offset in range(30)]
LINES = 160  # a log's lines: 30 logs a day's worth each, and late ones


@cache
def log(day: date, seed: int) -> bytes:
    """A gzipped log of ``day`` (its lines spread over that day)."""
    return gzip.compress(("\n".join(sample_lines(LINES, seed=seed, start=midnight(day))) + "\n").encode())


def rows_of(logs: list[bytes]) -> list[dict[str, Any]]:
    """The file_downloads rows of ``logs``, parsed here."""
    converted = Converted()
    for data in logs:
        Converter().convert_block(gzip.decompress(data), converted)
    return [json.loads(row) for row in converted.downloads]


class Month:
    """A staging bucket, a log bucket and a dataset of their own on the local cloud, and the pipeline's
    functions called in this process (the ingestor's own ingest_log, the publisher's publish)."""

    def __init__(
        self, stack: LocalStack, store: GcsBlobStore, loader: BigQueryTableLoader, admin: BigQueryAdmin
    ):
        suffix = uuid.uuid4().hex[:12]
        self.store, self.loader, self.admin = store, loader, admin
        self.client = stack.bigquery_client()
        self.aggregator = BigQueryAggregator(self.client)
        self.logs, self.bucket, self.dataset = f"logs-{suffix}", f"staging-{suffix}", f"daily_{suffix}"
        for bucket in (self.logs, self.bucket):
            stack.storage_client().create_bucket(bucket)
        admin.ensure_dataset(PROJECT, self.dataset)
        for table in Table:
            admin.create_table(TableRef(PROJECT, self.dataset, table), load_schema(table))
        destinations = ((PROJECT, self.dataset),)
        self.settings = PublishSettings(
            PROJECT, self.bucket, destinations, "file_downloads", "simple_requests", daily_days_per_run=31
        )
        self.now = datetime(2026, 11, 20, 12, tzinfo=UTC)
        self.delivered: list[bytes] = []
        self.converters = KeptConverters()  # as the ingestor function keeps them

    def deliver(self, day: date, seed: int, times: int = 1) -> None:
        """The CDN writes a log of ``day``; its storage event reaches the ingestor ``times`` times."""
        name = log_object_name(day, f"cdn-{seed}.log.gz")
        generation = self.store.put(self.logs, name, log(day, seed))
        settings = IngestSettings(staging_bucket=self.bucket)
        for _ in range(times):
            ingest_log(
                self.store, self.logs, name, settings, generation=generation, converters=self.converters
            )
        self.delivered.append(log(day, seed))

    def publish(self, **ports: Any) -> PublishReport:
        aggregator = ports.get("aggregator", self.aggregator)
        settings, now = self.settings, lambda: self.now
        report = publish(self.store, self.loader, settings, PublishRequest(), now=now, aggregator=aggregator)
        self.now += timedelta(minutes=15)  # the scheduler's next message
        return report

    def differences(self) -> list[str]:
        expected = rows_of(self.delivered)
        assert self.admin.count_rows(TableRef(PROJECT, self.dataset, "file_downloads")) == len(expected)
        problems = []
        for table in DAILY_TABLES:
            found = self.admin.query(f"SELECT * FROM `{PROJECT}.{self.dataset}.{table.name}`")
            problems += differences(table, expected, found)
        return problems


@pytest.fixture
def month(local_stack: LocalStack, blob_store: GcsBlobStore, table_loader: BigQueryTableLoader,
          bigquery_admin: BigQueryAdmin) -> Month:  # fmt: skip
    return Month(local_stack, blob_store, table_loader, bigquery_admin)


def test_a_month_delivered_out_of_order_with_late_logs_ends_in_step(month: Month) -> None:
    order = random.Random(29)
    first, second = [list(enumerate(DAYS, 1))[part] for part in (slice(0, 15), slice(15, 30))]
    late = [(DAYS[index], 100 + index) for index in order.sample(range(15), 3)]  # logs of aggregated days
    order.shuffle(first)
    month.now = midnight(DAYS[15]) + timedelta(hours=12)  # the first half of the month is over
    for number, day in first:
        month.deliver(day, number)
    runs = [month.publish()]
    arriving = [(day, number) for number, day in second] + late
    order.shuffle(arriving)
    month.now = midnight(DAYS[-1]) + timedelta(days=1, hours=3)  # the month is over
    for day, seed in arriving:
        month.deliver(day, seed, times=2 if seed > 100 else 1)  # a late log's event twice: at least once
    runs.append(month.publish())
    runs.append(month.publish())  # nothing new: no day read again
    assert month.differences() == []
    source = TableRef(PROJECT, month.dataset, "file_downloads")
    days_held, rows_held, differing = check_daily_tables(month.client, source)
    assert (days_held, differing) == (len(DAYS), 0)
    assert rows_held > 0
    month.admin.query(
        f"UPDATE `{PROJECT}.{month.dataset}.downloads_by_installer_daily` SET downloads = downloads + 1 "
        "WHERE installer = 'pip'"
    )  # what the check is for: a daily row that is not the count
    assert check_daily_tables(month.client, source)[2] > 0
    days = [len((report.daily or {})["days"]) for report in runs]
    assert days == [15, 15 + len(late), 0]
    jobs = [
        (report.jobs_submitted, report.daily["jobs_submitted"], report.daily["metadata_queries"])
        for report in runs
        if report.daily is not None
    ]
    assert [aggregations for _, aggregations, _ in jobs] == [count * len(DAILY_TABLES) for count in days]
    print(f"\n30 days, {len(month.delivered)} logs ({len(late)} late): per run (load jobs, aggregation "
          f"jobs, metadata queries) {jobs}")  # fmt: skip


@pytest.mark.parametrize(
    ("method", "after"),
    [("start_aggregate", 0), ("start_aggregate", 7), ("wait", 13)],
    ids=["before-any-job", "between-jobs", "waiting"],
)
def test_a_publisher_killed_while_aggregating_is_finished_by_the_next(
    month: Month, method: str, after: int
) -> None:
    for number, day in enumerate(DAYS[:2], 1):
        month.deliver(day, number)
    month.now = datetime(2026, 10, 5, tzinfo=UTC)
    with pytest.raises(CrashError):
        month.publish(aggregator=Crashing(month.aggregator, method, after=after))
    assert month.publish().lease == "busy"  # the dead run's lease, until it expires
    month.now += timedelta(seconds=month.settings.lock_seconds)
    taken = month.publish()
    assert taken.lease_taken_over is not None
    assert month.differences() == []
