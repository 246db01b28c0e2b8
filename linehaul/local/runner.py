"""The whole pipeline on the local cloud: logs -> log bucket -> ingestor -> staging -> publisher -> BigQuery.

:func:`provision` sets the cloud up as the pipeline expects it (buckets, dataset, tables from schemas/ by
``linehaul schema apply``'s own logic). :func:`run_pipeline` uploads logs, fires one finalize event per log
at the real ingestor function and Pub/Sub messages at the real publisher function (both served by
functions-framework over HTTP, as Cloud Functions does), until every partition it staged is loaded, and
counts what landed where.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from linehaul.local.names import DATASET, LOGS_BUCKET, STAGING_BUCKET
from linehaul.logfiles import read_blocks
from linehaul.pipeline.ports import TableRef
from linehaul.rows import FILE_DOWNLOADS, SIMPLE_REQUESTS
from linehaul.sample import write_sample

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

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
_ROUNDS = 20  # publisher messages per partition before giving up on a partition that does not empty


class RunError(Exception):
    """The local run could not complete: a function failed, or its sources are missing."""


@dataclass(frozen=True, slots=True)
class RunCounts:
    """Lines read from the logs and where they ended: rows counted in BigQuery, kept lines in staging."""

    lines: int
    file_downloads: int
    simple_requests: int
    unprocessed: int
    ignored: int
    quarantined_logs: tuple[str, ...] = ()
    quarantined_files: tuple[str, ...] = ()

    def line(self) -> str:
        return (
            f"lines={self.lines} file_downloads={self.file_downloads} simple_requests={self.simple_requests} "
            f"unprocessed={self.unprocessed} ignored={self.ignored}"
        )


def provision(stack: LocalStack) -> list[str]:
    """Create what is missing: the two buckets, the dataset and both tables (or evolve their schemas)."""
    done = []
    client = stack.storage_client()
    for bucket in (LOGS_BUCKET, STAGING_BUCKET):
        if client.lookup_bucket(bucket) is None:
            client.create_bucket(bucket)
            done.append(f"created bucket {bucket}")
    from linehaul.gcp.tables import apply_schemas

    tables = {FILE_DOWNLOADS: FILE_DOWNLOADS, SIMPLE_REQUESTS: SIMPLE_REQUESTS}
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
        "BIGQUERY_DOWNLOAD_TABLE": FILE_DOWNLOADS,
        "BIGQUERY_SIMPLE_TABLE": SIMPLE_REQUESTS,
    }


def run_pipeline(stack: LocalStack, logs: Sequence[Path], say: Callable[[str], None] = print) -> RunCounts:
    """Push ``logs`` through both functions on ``stack`` until every staged partition is loaded."""
    from linehaul.local.functions import FunctionServer

    for function in ("ingestor", "publisher"):
        if not (FUNCTIONS / function / "main.py").is_file():
            raise RunError(f"{FUNCTIONS / function / 'main.py'} is missing: run from a checkout of linehaul")
    store = stack.blob_store()
    lines = 0
    ingestor = FunctionServer(
        FUNCTIONS / "ingestor" / "main.py", "process_fastly_log", env=_ingestor_env(stack)
    )
    with ingestor:
        for log in logs:
            lines += _count_lines(log)
            name = f"{time.strftime('%Y/%m/%d')}/{log.name}"
            generation = store.put(LOGS_BUCKET, name, log.read_bytes(), content_type="application/gzip")
            delivery = ingestor.storage_finalized(LOGS_BUCKET, name, generation)
            if not delivery.ok:
                raise RunError(f"the ingestor failed on {name} ({delivery.status}):\n{ingestor.output()}")
            say(f"ingested gs://{LOGS_BUCKET}/{name}")
    publisher = FunctionServer(
        FUNCTIONS / "publisher" / "main.py", "load_processed_files_into_bigquery", env=_publisher_env(stack)
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
                if not any(True for _ in store.list(STAGING_BUCKET, f"processed/{partition}/", limit=1)):
                    break
            say(f"published partition {partition}")
    return _counts(stack, lines)


def _staged_partitions(stack: LocalStack) -> list[str]:
    names = (info.name for info in stack.blob_store().list(STAGING_BUCKET, "processed/"))
    return sorted({name.split("/")[1] for name in names})


def _kept_lines(stack: LocalStack, prefix: str) -> int:
    store = stack.blob_store()
    kept = 0
    for info in store.list(STAGING_BUCKET, prefix):
        if info.name.endswith(".txt"):
            kept += store.get(STAGING_BUCKET, info.name)[0].count(b"\n")
    return kept


def _counts(stack: LocalStack, lines: int) -> RunCounts:
    admin = stack.bigquery_admin()
    store = stack.blob_store()
    return RunCounts(
        lines=lines,
        file_downloads=admin.count_rows(TableRef(stack.project, DATASET, FILE_DOWNLOADS)),
        simple_requests=admin.count_rows(TableRef(stack.project, DATASET, SIMPLE_REQUESTS)),
        unprocessed=_kept_lines(stack, "unprocessed/"),
        ignored=_kept_lines(stack, "ignored/"),
        quarantined_logs=tuple(
            info.name for info in store.list(STAGING_BUCKET, f"quarantine/{LOGS_BUCKET}/")
        ),
        quarantined_files=tuple(
            f"gs://{STAGING_BUCKET}/{info.name}" for info in store.list(STAGING_BUCKET, "quarantine/")
        ),
    )


def report(stack: LocalStack, top: int = 5) -> list[str]:
    """A short report from BigQuery: top projects, installers and Python versions of the downloads."""
    admin = stack.bigquery_admin()
    table = f"`{stack.project}.{DATASET}.{FILE_DOWNLOADS}`"
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
