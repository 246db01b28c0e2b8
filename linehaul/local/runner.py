"""The whole pipeline on the local cloud: logs -> log bucket -> ingestor -> staging -> publisher -> BigQuery.

:func:`provision` sets the cloud up as the pipeline expects it (buckets, dataset, tables from schemas/ by
``linehaul schema apply``'s own logic). :func:`run_pipeline` uploads logs, fires one finalize event per log
at the real ingestor function and the scheduler's Pub/Sub message (no attributes) at the real publisher
function (both served by functions-framework over HTTP, as Cloud Functions does), until every partition it
staged is loaded, and counts what landed where. A damaged log is quarantined by the ingestor, as deployed,
after its readable lines are staged; the counts name it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from linehaul.local.resources import DATASET, LOGS_BUCKET, STAGING_BUCKET
from linehaul.logs.counts import ReadCounts
from linehaul.logs.files import LogFileError, read_blocks
from linehaul.logs.sample import write_sample
from linehaul.pipeline.backlog import staged_partitions
from linehaul.pipeline.naming import (
    Partition,
    log_object_name,
    object_uri,
    quarantine_name,
    staged_output,
    staged_prefix,
)
from linehaul.pipeline.ports import TableRef
from linehaul.pipeline.settings import IngestSettings, PublishSettings
from linehaul.pipeline.status import read_status
from linehaul.runtime.entry_points import INGESTOR, PUBLISHER
from linehaul.tables import Output, Table

if TYPE_CHECKING:
    from linehaul.local.stack import LocalStack

__all__ = [
    "RunCounts",
    "RunError",
    "demo_logs",
    "ingest_settings",
    "provision",
    "publish_settings",
    "report",
    "run_pipeline",
]

_ROUNDS = 60  # scheduled publisher messages before giving up on files that stay staged (or days due)


class RunError(Exception):
    """The local run could not complete: a function failed, or its sources are missing."""


@dataclass(frozen=True, slots=True)
class RunCounts:
    """Lines read from the logs and where they ended (``counts``: rows counted in BigQuery, kept lines in
    staging), and what was quarantined (``"<uri>: <reason>"``: damaged logs, staged files a load refused)."""

    counts: ReadCounts
    quarantined_logs: tuple[str, ...] = ()
    quarantined_files: tuple[str, ...] = ()

    def line(self) -> str:
        return self.counts.line()


def function_source(module: str) -> Path:
    """The source file of a function of :mod:`linehaul.runtime`, which functions-framework serves."""
    spec = find_spec(module)
    if spec is None or spec.origin is None:
        raise RunError(f"{module} is not installed")
    return Path(spec.origin)


def provision(stack: LocalStack) -> list[str]:
    """Create what is missing: the two buckets, the dataset and both tables (or evolve their schemas)."""
    done = []
    client = stack.storage_client()
    for bucket in (LOGS_BUCKET, STAGING_BUCKET):
        if client.lookup_bucket(bucket) is None:
            client.create_bucket(bucket)
            done.append(f"created bucket {bucket}")
    from linehaul.gcp.schema_apply import apply_schemas

    tables = {table: table.value for table in Table}
    for outcome in apply_schemas(stack.bigquery_admin(), stack.project, DATASET, tables):
        if outcome.action == "refused":
            raise RunError(outcome.line())
        if outcome.action != "unchanged":
            details = f": {'; '.join(outcome.details)}" if outcome.details else ""
            done.append(f"{outcome.action} table {outcome.table}{details}")
    return done


def demo_logs(directory: Path, lines: int = 20_000) -> list[Path]:
    """Three sample logs: two recent days and one from years ago (real backfills are that old)."""
    starts = (
        datetime(2021, 1, 7, tzinfo=UTC),
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 11, 2, tzinfo=UTC),
    )
    return [
        write_sample(
            directory / f"demo-{Partition.of_day(start)}.log.gz", lines=lines, seed=number, start=start
        )
        for number, start in enumerate(starts, 1)
    ]


def _count_lines(path: Path) -> int:
    """The lines of a log the ingestor reads: of a damaged log, those before the damage (the ingestor
    stages them and quarantines the log)."""
    count, last = 0, b"\n"
    with contextlib.suppress(LogFileError):
        for block in read_blocks(str(path)):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def ingest_settings() -> IngestSettings:
    """The ingestor's settings on the local cloud (its environment: their :meth:`~IngestSettings.to_env`)."""
    return IngestSettings(staging_bucket=STAGING_BUCKET)


def publish_settings(stack: LocalStack) -> PublishSettings:
    """The publisher's settings on the local cloud: both tables, under their names, in its dataset."""
    return PublishSettings(
        project=stack.project,
        staging_bucket=STAGING_BUCKET,
        datasets=((stack.project, DATASET),),
        download_table=Table.FILE_DOWNLOADS.value,
        simple_table=Table.SIMPLE_REQUESTS.value,
    )


def run_pipeline(stack: LocalStack, logs: Sequence[Path], say: Callable[[str], None] = print) -> RunCounts:
    """Push ``logs`` through both functions on ``stack`` until every staged partition is loaded."""
    from linehaul.local.functions import FunctionServer

    store = stack.blob_store()
    lines = 0
    ingestor = FunctionServer(
        function_source(INGESTOR.module), INGESTOR.name, env={**stack.env, **ingest_settings().to_env()}
    )
    with ingestor:
        for log in logs:
            lines += _count_lines(log)
            name = log_object_name(datetime.now(UTC).date(), log.name)
            generation = store.put(LOGS_BUCKET, name, log.read_bytes(), content_type="application/gzip")
            delivery = ingestor.storage_finalized(LOGS_BUCKET, name, generation)
            if not delivery.ok:
                raise RunError(f"the ingestor failed on {name} ({delivery.status}):\n{ingestor.output()}")
            moved = quarantine_name(LOGS_BUCKET, name, elsewhere=False)
            if store.stat(LOGS_BUCKET, moved) is None:
                say(f"ingested {object_uri(LOGS_BUCKET, name)}")
            else:
                say(f"ingested the readable lines of {object_uri(LOGS_BUCKET, name)}, a damaged log: "
                    f"quarantined as {object_uri(LOGS_BUCKET, moved)}")  # fmt: skip
    publisher = FunctionServer(
        function_source(PUBLISHER.module),
        PUBLISHER.name,
        env={**stack.env, **publish_settings(stack).to_env()},
    )
    with publisher:
        partitions, runs = staged_partitions(store, STAGING_BUCKET), 0
        while runs == 0 or staged_partitions(store, STAGING_BUCKET) or _days_waiting(stack):
            if runs == _ROUNDS:
                raise RunError(
                    f"files are still staged, or days not aggregated, after {runs} publisher runs:\n"
                    f"{publisher.output()}"
                )
            runs += 1
            delivery = publisher.pubsub_message(b"publish")  # the scheduler's message: no attributes
            if not delivery.ok:
                raise RunError(f"the publisher failed ({delivery.status}):\n{publisher.output()}")
        say(f"published {len(partitions)} partitions ({', '.join(partitions)}) in {runs} scheduled runs")
    return _counts(stack, len(logs), lines)


def _days_waiting(stack: LocalStack) -> int:
    """The complete days whose daily tables are not in step yet (the publisher aggregates a few a run)."""
    from linehaul.gcp.daily import BigQueryAggregator
    from linehaul.pipeline.daily import days_waiting

    settings = publish_settings(stack)
    aggregator = BigQueryAggregator(stack.bigquery_client())
    return days_waiting(aggregator, stack.blob_store(), settings, datetime.now(UTC))


def _kept_lines(stack: LocalStack, output: Output) -> int:
    store = stack.blob_store()
    kept = 0
    for info in store.list(STAGING_BUCKET, staged_prefix(output)):
        if staged_output(info.name) is output:
            kept += store.get(STAGING_BUCKET, info.name)[0].count(b"\n")
    return kept


def _counts(stack: LocalStack, files: int, lines: int) -> RunCounts:
    admin = stack.bigquery_admin()
    store = stack.blob_store()
    rows = {table.value: admin.count_rows(TableRef(stack.project, DATASET, table.value)) for table in Table}
    counts = ReadCounts(
        files=files,
        lines=lines,
        **rows,  # the rows of each table are counted under its name
        unprocessed=_kept_lines(stack, Output.UNPROCESSED),
        ignored=_kept_lines(stack, Output.IGNORED),
    )
    status = read_status(store, STAGING_BUCKET, datetime.now(UTC), log_bucket=LOGS_BUCKET)
    return RunCounts(
        counts,
        quarantined_logs=tuple(f"{item.uri}: {item.reason}" for item in status.quarantined_logs),
        quarantined_files=tuple(f"{item.uri}: {item.reason}" for item in status.quarantined_staged),
    )


def report(stack: LocalStack, top: int = 5) -> list[str]:
    """A short report from BigQuery: top projects, installers and Python versions of the downloads."""
    admin = stack.bigquery_admin()
    table = f"`{TableRef(stack.project, DATASET, Table.FILE_DOWNLOADS.value)}`"
    sections = (
        ("top projects", "project"),
        ("installers", "details.installer.name"),
        ("Python versions", "details.python"),
    )
    out = []
    for title, column in sections:
        rows = admin.query(
            f"SELECT {column} AS value, COUNT(*) AS n FROM {table} "
            f"GROUP BY value ORDER BY n DESC, value LIMIT {top}"
        )
        out.append(f"{title}: " + ", ".join(f"{row['value'] or '(none)'} {row['n']}" for row in rows))
    return [*out, daily_report(stack)]


def daily_report(stack: LocalStack) -> str:
    """One line on the daily tables: the days they hold, their rows, every row being the count of
    ``file_downloads`` (each compared with the aggregation made afresh, :mod:`linehaul.daily.check`);
    RunError when a row is not (``linehaul local run`` then says so and exits 1)."""
    from linehaul.daily.shape import DAILY_TABLES
    from linehaul.gcp.daily import check_daily_tables

    source = TableRef(stack.project, DATASET, Table.FILE_DOWNLOADS.value)
    days, held, differing = check_daily_tables(stack.bigquery_client(), source)
    if differing:
        raise RunError(
            f"daily tables: {differing} of their {held} rows differ from the count over file_downloads"
        )
    verdict = "every row the count of file_downloads"
    return f"daily tables: {days} days in {len(DAILY_TABLES)} tables, {held} rows, {verdict}"
