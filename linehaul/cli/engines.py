"""Which engine answers stats, query and report: DuckDB over files, or BigQuery (--bigquery and its
limits); opening it, its errors, and printing dry runs. The BigQuery client is imported only when used."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from linehaul.cli.inputs import open_logs
from linehaul.gcp.costs import (
    DEFAULT_DATASET,
    DEFAULT_MAX_BYTES_BILLED,
    PRICE_CHECKED,
    PRICE_PER_TIB,
    cost,
    human_bytes,
    parse_byte_size,
)
from linehaul.tables import Table

if TYPE_CHECKING:
    from linehaul.analysis.database import Database
    from linehaul.analysis.errors import QueryError
    from linehaul.gcp.queries import BigQueryEngine, DryRun

__all__ = [
    "add_bigquery_arguments",
    "open_source",
    "print_dry_runs",
    "say_query_error",
    "say_what_was_read",
]


def _byte_size(text: str) -> int:
    try:
        return parse_byte_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _price(text: str) -> float:
    try:
        price = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a price: {text!r}") from None
    if price < 0:
        raise argparse.ArgumentTypeError(f"a price cannot be negative: {text}")
    return price


def add_bigquery_arguments(parser: argparse.ArgumentParser) -> None:
    """--bigquery [PROJECT.]DATASET, --table, --billing-project, --dry-run and the limits."""
    group = parser.add_argument_group(
        "BigQuery, instead of files",
        "Every query filters on timestamp, the tables' partitioning column: without a window, the last\n"
        "30 days of the table. --where is BigQuery's SQL there. Credentials: Google's application default\n"
        "ones (gcloud auth application-default login); the emulator when BIGQUERY_EMULATOR_HOST is set.",
    )
    group.add_argument(
        "--bigquery",
        nargs="?",
        const=DEFAULT_DATASET,
        metavar="[PROJECT.]DATASET",
        help="ask BigQuery: the dataset holding file_downloads and simple_requests "
        f"(alone: {DEFAULT_DATASET}, PyPI's public one)",
    )
    group.add_argument(
        "--table",
        metavar="NAME",
        help="count in this table of the dataset instead (the same schema as file_downloads, or as "
        "simple_requests with --simple)",
    )
    group.add_argument(
        "--billing-project",
        metavar="PROJECT",
        help="the project that pays for the queries (default: the application default credentials' one)",
    )
    group.add_argument(
        "--dry-run",
        action="store_true",
        help="run nothing: print the SQL, the bytes BigQuery says it would process, and the cost (of the "
        "question from file_downloads alone too, when the daily tables answer it)",
    )
    group.add_argument(
        "--no-daily",
        action="store_true",
        help="count the rows of file_downloads even where the daily tables (downloads_daily, "
        "downloads_by_<field>_daily) answer the question for less",
    )
    group.add_argument(
        "--max-bytes-billed",
        type=_byte_size,
        default=DEFAULT_MAX_BYTES_BILLED,
        metavar="SIZE",
        help="BigQuery refuses a query that would bill more (default 1TB; e.g. 50GB, 2TiB)",
    )
    group.add_argument(
        "--price-per-tib",
        type=_price,
        default=PRICE_PER_TIB,
        metavar="USD",
        help=f"on-demand price of a TiB processed, for the cost of dry runs (default {PRICE_PER_TIB}: "
        f"{PRICE_CHECKED})",
    )


def open_source(
    command: str, args: argparse.Namespace, table: Table, projects: Sequence[str] = ()
) -> Database | BigQueryEngine | int:
    """The engine that ``args`` name: BigQuery with --bigquery, else the files (of logs, only the rows
    of ``projects``, if given: see :func:`~linehaul.cli.inputs.open_logs`); or the exit status after saying
    on stderr what is wrong. ``table`` is the table that --table renames."""
    if args.bigquery is None:
        if not args.files:
            print(f"linehaul {command}: give the files to read, or --bigquery", file=sys.stderr)
            return 2
        if args.table or args.billing_project or args.dry_run or getattr(args, "no_daily", False):
            print(
                f"linehaul {command}: --table, --billing-project, --dry-run and --no-daily go with "
                "--bigquery",
                file=sys.stderr,
            )
            return 2
        return open_logs(command, args, projects)
    if args.files:
        print(f"linehaul {command}: give files or --bigquery, not both", file=sys.stderr)
        return 2
    try:
        from linehaul.gcp.queries import BigQueryEngine

        return BigQueryEngine(
            args.bigquery,
            tables={table: args.table} if args.table else None,
            billing_project=args.billing_project,
            max_bytes_billed=args.max_bytes_billed,
            dry_run=args.dry_run,
            daily=not getattr(args, "no_daily", False),
        )
    except ImportError:
        print(
            f"linehaul {command}: --bigquery needs google-cloud-bigquery: pip install 'linehaul[gcp]'",
            file=sys.stderr,
        )
        return 1
    except ValueError as error:
        print(f"linehaul {command}: --bigquery: {error}", file=sys.stderr)
        return 2


def say_query_error(command: str, error: QueryError | Exception, args: argparse.Namespace) -> int:
    """Say why a query failed (which flag raises BigQuery's bytes limit); the exit status for it."""
    from linehaul.analysis.errors import QueryError

    if args.bigquery is None and isinstance(error, QueryError):
        print(f"linehaul {command}: DuckDB says: {error}", file=sys.stderr)
        return 1
    needed = getattr(error, "needed", None)
    if needed is not None:
        print(
            f"linehaul {command}: BigQuery refused the query: it would bill {needed:,} bytes "
            f"({human_bytes(needed)}: {cost(needed, args.price_per_tib)} at ${args.price_per_tib:g}/TiB), "
            f"above --max-bytes-billed {args.max_bytes_billed:,} ({human_bytes(args.max_bytes_billed)}): "
            "raise --max-bytes-billed to run it (--dry-run shows the SQL first)",
            file=sys.stderr,
        )
        return 1
    print(f"linehaul {command}: BigQuery says: {error}", file=sys.stderr)
    return 1


def _shown(value: object) -> str:
    """A parameter's value as a person reads it: times in ISO 8601, text and lists as JSON."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def _print_sql(run: DryRun) -> None:
    for parameter in run.query.parameters:
        print(f"--    @{parameter.name} {parameter.type} = {_shown(parameter.value)}")
    print(run.query.text.rstrip() + ";\n")


def say_what_was_read(command: str, engine: Database | BigQueryEngine) -> None:
    """On stderr, for BigQuery: which tables the answer was read from (and which days of each), and the
    bytes the queries processed (issue 29: the daily tables answer for less where they suffice)."""
    reads: list[str] | None = getattr(engine, "reads", None)  # BigQuery's (not imported for files)
    if reads is not None and not getattr(engine, "dry_run", False):
        processed = int(getattr(engine, "bytes_processed", 0))
        print(
            f"linehaul {command}: read {'; '.join(reads) or 'no table'}: {processed:,} bytes processed "
            f"({human_bytes(processed)})",
            file=sys.stderr,
        )


def print_dry_runs(engine: Database | BigQueryEngine, price_per_tib: float) -> None:
    """Each query that would run, with its parameters, bytes and cost; then the sum (BigQuery's)."""
    from linehaul.gcp.queries import BigQueryEngine

    if not isinstance(engine, BigQueryEngine):
        raise TypeError("only BigQuery has dry runs")
    total = 0
    runs = [run for run in engine.dry_runs if not run.alternative]
    for number, run in enumerate(runs, 1):
        total += run.bytes_processed
        reads = f" ({'; '.join(run.query.reads)})" if run.query.reads else ""
        print(
            f"-- {number}. {run.query.purpose}{reads}: would process {run.bytes_processed:,} bytes "
            f"({human_bytes(run.bytes_processed)}), {cost(run.bytes_processed, price_per_tib)}"
        )
        _print_sql(run)
    alternatives = [run for run in engine.dry_runs if run.alternative]
    for run in alternatives:  # issue 29: the questions the daily tables answer, from file_downloads alone
        print(
            f"-- instead, {run.query.purpose} from {'; '.join(run.query.reads)} alone would process "
            f"{run.bytes_processed:,} bytes ({human_bytes(run.bytes_processed)}), "
            f"{cost(run.bytes_processed, price_per_tib)}"
        )
        _print_sql(run)
    queries = len(runs)
    if engine.metadata_queries:
        print(
            f"(run for real, to count the window back from the table's last day: {engine.metadata_queries} "
            f"quer{'y' if engine.metadata_queries == 1 else 'ies'} of partition metadata, "
            f"{engine.bytes_processed:,} bytes)"
        )
    if alternatives:
        every = engine.dry_runs  # an alternative follows the run it replaces
        routed = sum(run.bytes_processed for run, then in itertools.pairwise(every) if then.alternative)
        raw = total - routed + sum(run.bytes_processed for run in alternatives)
        print(f"(from file_downloads alone: {raw:,} bytes ({human_bytes(raw)}), {cost(raw, price_per_tib)})")
    print(
        f"dry run: {queries} quer{'y' if queries == 1 else 'ies'} would process {total:,} bytes "
        f"({human_bytes(total)}): {cost(total, price_per_tib)} at ${price_per_tib:g} per TiB on demand; "
        f"each job is limited to {engine.max_bytes_billed:,} bytes billed"
    )
