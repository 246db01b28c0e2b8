"""The whole pipeline on the local cloud: logs -> log bucket -> ingestor -> staging -> publisher -> BigQuery.

:func:`provision` sets the cloud up as the pipeline expects it (buckets, dataset, tables from schemas/ by
``linehaul schema apply``'s own logic). :func:`run_pipeline` uploads logs, fires one finalize event per log
at the real ingestor function and Pub/Sub messages at the real publisher function (both served by
functions-framework over HTTP, as Cloud Functions does), until every partition it staged is loaded, and
counts what landed where.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from linehaul.local.names import DATASET, LOGS_BUCKET, STAGING_BUCKET
from linehaul.logs.counts import ReadCounts
from linehaul.logs.files import read_blocks
from linehaul.logs.sample import write_sample
from linehaul.pipeline.naming import (
    log_object_name,
    object_uri,
    partition_in,
    processed_prefix,
    quarantine_prefix,
    staged_output,
    staged_prefix,
)
from linehaul.pipeline.ports import TableRef
from linehaul.tables import Output, Table

if TYPE_CHECKING:
    from linehaul.local.stack import LocalStack

__all__ = [
    "DATASET",
    "LOGS_BUCKET",
    "STAGING_BUCKET",
    "RunCounts",
    "RunError",
    "demo_logs",
    "provision",
    "report",
    "run_pipeline",
]

_ROUNDS = 20  # publisher messages per partition before giving up on a partition that does not empty


class RunError(Exception):
    """The local run could not complete: a function failed, or its sources are missing."""


@dataclass(frozen=True, slots=True)
class RunCounts:
    """Lines read from the logs and where they ended (``counts``: rows counted in BigQuery, kept lines in
    staging), and what was quarantined."""

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
    from linehaul.gcp.tables import apply_schemas

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
        write_sample(directory / f"demo-{start:%Y%m%d}.log.gz", lines=lines, seed=number, start=start)
        for number, start in enumerate(starts, 1)
    ]


def _count_lines(path: Path) -> int:
    count, last = 0, b"\n"
    for block in read_blocks(str(path)):
        count += block.count(b"\n")
        last = block[-1:]
    return count + (last != b"\n")


def _ingestor_env(stack: LocalStack) -> dict[str, str]:
    return {**stack.env, "RESULT_BUCKET": STAGING_BUCKET}


def _publisher_env(stack: LocalStack) -> dict[str, str]:
    return {
        **stack.env,
        "GCP_PROJECT": stack.project,
        "RESULT_BUCKET": STAGING_BUCKET,
        "BIGQUERY_DATASET": f"{stack.project}.{DATASET}",
        **{table.setting: table.value for table in Table},
    }


def run_pipeline(stack: LocalStack, logs: Sequence[Path], say: Callable[[str], None] = print) -> RunCounts:
    """Push ``logs`` through both functions on ``stack`` until every staged partition is loaded."""
    from linehaul.local.functions import FunctionServer

    store = stack.blob_store()
    lines = 0
    ingestor = FunctionServer(
        function_source("linehaul.runtime.ingestor"), "process_fastly_log", env=_ingestor_env(stack)
    )
    with ingestor:
        for log in logs:
            lines += _count_lines(log)
            name = log_object_name(datetime.now(UTC).date(), log.name)
            generation = store.put(LOGS_BUCKET, name, log.read_bytes(), content_type="application/gzip")
            delivery = ingestor.storage_finalized(LOGS_BUCKET, name, generation)
            if not delivery.ok:
                raise RunError(f"the ingestor failed on {name} ({delivery.status}):\n{ingestor.output()}")
            say(f"ingested {object_uri(LOGS_BUCKET, name)}")
    publisher = FunctionServer(
        function_source("linehaul.runtime.publisher"),
        "load_processed_files_into_bigquery",
        env=_publisher_env(stack),
    )
    with publisher:
        for partition in _staged_partitions(stack):
            for _ in range(_ROUNDS):
                attributes = {"partition": partition, "continue_publishing": "true"}
                delivery = publisher.pubsub_message(b"publish", attributes)
                if not delivery.ok:
                    raise RunError(
                        f"the publisher failed on {partition} ({delivery.status}):\n{publisher.output()}"
                    )
                prefixes = [processed_prefix(partition, output) for output in Output.of_rows()]
                if not any(True for prefix in prefixes for _ in store.list(STAGING_BUCKET, prefix, limit=1)):
                    break
            say(f"published partition {partition}")
    return _counts(stack, len(logs), lines)


def _staged_partitions(stack: LocalStack) -> list[str]:
    store = stack.blob_store()
    names = (
        info.name for output in Output.of_rows() for info in store.list(STAGING_BUCKET, staged_prefix(output))
    )
    return sorted({partition for name in names if (partition := partition_in(name)) is not None})


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
    rows = {table: admin.count_rows(TableRef(stack.project, DATASET, table.value)) for table in Table}
    counts = ReadCounts(
        files=files,
        lines=lines,
        file_downloads=rows[Table.FILE_DOWNLOADS],
        simple_requests=rows[Table.SIMPLE_REQUESTS],
        unprocessed=_kept_lines(stack, Output.UNPROCESSED),
        ignored=_kept_lines(stack, Output.IGNORED),
    )
    return RunCounts(
        counts,
        quarantined_logs=tuple(
            info.name for info in store.list(STAGING_BUCKET, quarantine_prefix(LOGS_BUCKET))
        ),
        quarantined_files=tuple(
            object_uri(STAGING_BUCKET, info.name) for info in store.list(STAGING_BUCKET, quarantine_prefix())
        ),
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
    return out
