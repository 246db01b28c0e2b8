"""The daily tables on the local cloud: a month of logs through the pipeline, then what they hold and what a
question reads both ways (issue 29's figures).

    python benchmarks/bench_daily.py [--lines 1000000] [--days 30] [--project requests]

Writes one sample log a day (``--lines`` in all), ingests them into fake GCS with the ingestor's own
``ingest_log`` and publishes them with ``publish`` (in this process, as the functions do), the daily tables
kept by the same runs; then measures, in the emulator's own terms (bytes as its pricing counts them: the
JSON text of the rows, :mod:`linehaul.local.bqbilling`): the rows and bytes of ``file_downloads`` and of
the daily tables, the BigQuery jobs of each publisher run, and ``stats --bigquery --project P --by
installer --days 30`` priced both ways (``--dry-run``), its answer from the daily tables against the answer
from ``file_downloads`` alone (``--no-daily``), and every daily row against the rows
(:func:`linehaul.gcp.daily.check_daily_tables`).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--project", default="requests")
    parser.add_argument("--show-dry-run", action="store_true", help="print the question's --dry-run too")
    parser.add_argument(
        "--corpus",
        type=Path,
        metavar="GEN_CORPUS_PY",
        help="write each day's log with this generator (../shared/bench/gen_corpus.py: --lines, --seed, "
        "--out), its events moved to that day, instead of linehaul sample's",
    )
    args = parser.parse_args()
    from linehaul.cli import main as linehaul
    from linehaul.daily.shape import DAILY_TABLES
    from linehaul.daily.sql import midnight
    from linehaul.gcp.daily import BigQueryAggregator, check_daily_tables
    from linehaul.local import LocalStack
    from linehaul.local.resources import DATASET, LOGS_BUCKET, STAGING_BUCKET
    from linehaul.local.runner import provision
    from linehaul.logs.sample import write_sample
    from linehaul.pipeline.ingest import KeptConverters, ingest_log
    from linehaul.pipeline.naming import log_object_name
    from linehaul.pipeline.ports import TableRef
    from linehaul.pipeline.publish import publish
    from linehaul.pipeline.request import PublishRequest
    from linehaul.pipeline.settings import IngestSettings, PublishSettings

    days = [date(2026, 10, 1) + timedelta(days=offset) for offset in range(args.days)]
    per_day = -(-args.lines // len(days))
    with tempfile.TemporaryDirectory() as scratch, LocalStack(project="linehaul-daily") as stack:
        provision(stack)
        store, converters = stack.blob_store(), KeptConverters()
        started = time.perf_counter()
        for number, day in enumerate(days, 1):
            log = Path(scratch, f"cdn-{day:%Y%m%d}.log.gz")
            if args.corpus is None:
                write_sample(log, per_day, number, midnight(day))
            else:
                _generated(args.corpus, log, per_day, number, day)
            name = log_object_name(day, log.name)
            generation = store.put(LOGS_BUCKET, name, log.read_bytes())
            ingest = IngestSettings(STAGING_BUCKET)
            ingest_log(store, LOGS_BUCKET, name, ingest, generation=generation, converters=converters)
        ingested = time.perf_counter() - started
        destinations = ((stack.project, DATASET),)
        settings = PublishSettings(
            stack.project, STAGING_BUCKET, destinations, "file_downloads", "simple_requests", time_budget=3600
        )
        aggregator, loader = BigQueryAggregator(stack.bigquery_client()), stack.table_loader()
        now = midnight(days[-1]) + timedelta(days=1, hours=3)
        runs: list[Any] = []
        started = time.perf_counter()
        while not runs or runs[-1].jobs_submitted or (runs[-1].daily or {}).get("jobs_submitted"):
            request = PublishRequest()
            runs.append(publish(store, loader, settings, request, now=lambda: now, aggregator=aggregator))
        published = time.perf_counter() - started
        client, dataset = stack.bigquery_client(), f"{stack.project}.{DATASET}"
        raw = _measured(client, dataset, "file_downloads")
        daily = {table.name: _measured(client, dataset, table.name) for table in DAILY_TABLES}
        source = TableRef(stack.project, DATASET, "file_downloads")
        days_held, daily_rows, differing = check_daily_tables(client, source)
        question = ["--project", args.project, "--by", "installer", "--days", str(args.days)]
        asked = ["stats", "--bigquery", dataset, *question]
        os.environ.update(stack.env)
        priced = _run(linehaul, [*asked, "--dry-run"])
        from_daily, from_rows = _run(linehaul, asked), _run(linehaul, [*asked, "--no-daily"])
    daily_bytes = sum(size for _, size in daily.values())
    read, alone = (_bytes(pattern, priced[0]) for pattern in ("would process", "alone would process"))
    print(f"corpus: {args.lines:,} lines over {args.days} days; ingested in {ingested:.1f} s, published and "
          f"aggregated in {published:.1f} s in {len(runs)} publisher runs")  # fmt: skip
    for number, report in enumerate(runs, 1):
        tally = report.daily or {}
        aggregations, metadata = tally.get("jobs_submitted", 0), tally.get("metadata_queries", 0)
        print(f"  run {number}: {report.jobs_submitted} load jobs, {metadata} partition metadata query, "
              f"{aggregations} aggregation jobs ({len(tally.get('days', []))} days)")  # fmt: skip
    print(f"file_downloads: {raw[0]:,} rows, {raw[1]:,} bytes")
    for name, (rows, size) in daily.items():
        print(f"  {name}: {rows:,} rows, {size:,} bytes")
    print(f"daily tables: {daily_rows:,} rows, {daily_bytes:,} bytes: 1/{raw[1] / daily_bytes:.1f} of the "
          f"raw rows' bytes; {days_held} days, {differing} rows differing from file_downloads")  # fmt: skip
    long_rows, long_bytes = _one_long_table(daily)
    narrow = daily["downloads_by_installer_daily"][1]
    print(f"one long table instead (date, project, field, value, counts; computed from the narrow ones): "
          f"{long_rows:,} rows, {long_bytes:,} bytes; a question by one field reads all of it "
          f"({long_bytes / narrow:.1f}x the narrow table's bytes)")  # fmt: skip
    print(f"question ({' '.join(question)}): {read:,} bytes from the daily tables, {alone:,} from "
          f"file_downloads alone: {alone / read:.0f}x fewer")  # fmt: skip
    for stderr in (from_daily[1], from_rows[1]):
        print(f"  stderr: {stderr.strip()}")
    if args.show_dry_run:
        print(f"$ linehaul {' '.join(asked)} --dry-run\n{priced[0]}")
    same = from_daily[0] == from_rows[0]
    print(f"answers the same both ways: {same}")
    return 0 if same and not differing else 1


def _measured(client: Any, dataset: str, table: str) -> tuple[int, int]:
    """(rows, bytes) of a table: its rows counted, its bytes as a dry run of reading them all prices them."""
    from google.cloud import bigquery

    rows = next(iter(client.query(f"SELECT COUNT(*) FROM `{dataset}.{table}`").result()))[0]
    config = bigquery.QueryJobConfig(dry_run=True)
    job = client.query(f"SELECT * FROM `{dataset}.{table}`", job_config=config)
    return int(rows), int(job.total_bytes_processed or 0)


_EVENT_TIME = re.compile(rb"^((?:download|simple)\|)([^|]*)")


def _generated(generator: Path, log: Path, lines: int, seed: int, day: date) -> None:
    """``lines`` lines of ``generator`` (seed ``seed``) into ``log`` (gzip), every event moved to ``day`` at
    its own time of day (a line whose time does not parse is left as it is)."""
    import email.utils
    import gzip
    import subprocess

    raw = log.with_suffix("")
    subprocess.run([sys.executable, str(generator), "--lines", str(lines), "--seed", str(seed),
                    "--out", str(raw)], check=True)  # fmt: skip

    def moved(found: re.Match[bytes]) -> bytes:
        try:
            at = email.utils.parsedate_to_datetime(found[2].decode())
        except (ValueError, TypeError, UnicodeDecodeError):
            return found[0]
        when = datetime.combine(day, at.time())
        return found[1] + email.utils.format_datetime(when).replace("-0000", "GMT").encode()

    with raw.open("rb") as source, gzip.open(log, "wb") as target:
        for line in source:
            target.write(_EVENT_TIME.sub(moved, line, count=1))
    raw.unlink()


def _one_long_table(daily: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """(rows, bytes) of one long table holding the by-field tables' rows, each with a ``field`` column
    naming its field and the value under ``value``: the same rows, and each row's JSON text longer by
    ``,"field":"<field>"`` and by ``value`` in place of the field's name (the emulator's pricing)."""
    rows = size = 0
    for name, (count, measured) in daily.items():
        field = name.removeprefix("downloads_by_").removesuffix("_daily")
        if field == name:
            continue
        rows += count
        size += measured + count * (len(f',"field":"{field}"') + len("value") - len(field))
    return rows, size


def _bytes(pattern: str, text: str) -> int:
    found = re.search(pattern + r" ([\d,]+) bytes", text)
    return int(found[1].replace(",", "")) if found else 0


def _run(linehaul: Callable[[list[str]], int], argv: list[str]) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        linehaul(argv)
    return out.getvalue(), err.getvalue()


if __name__ == "__main__":
    sys.exit(main())
