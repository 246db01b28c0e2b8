"""``linehaul query``: SQL over the rows of log files (DuckDB), printed as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import codecs
import json
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from linehaul.analysis.errors import QueryError
from linehaul.cli.engines import add_bigquery_arguments, open_source, print_dry_runs, say_query_error
from linehaul.cli.inputs import add_input_arguments
from linehaul.cli.render import flat_rows, json_value, render_csv, render_markdown, render_table
from linehaul.cli.stats_command import add_output_arguments
from linehaul.gcp.costs import DEFAULT_DATASET
from linehaul.tables import Table

if TYPE_CHECKING:
    from linehaul.analysis.database import Database

__all__ = ["register"]

_DESCRIPTION = """\
Run SQL (DuckDB's dialect) over the rows of log files, Parquet files or folders (linehaul parse --format
parquet) and NDJSON row files, in an embedded database (no server):

  file_downloads   timestamp, country_code, url, project, file.{filename, project, version, type},
                   details.{installer.{name, version, subcommand}, python, implementation.{name, version},
                   distro.{name, version, id, libc.{lib, version}}, system.{name, release}, cpu,
                   openssl_version, setuptools_version, rustc_version, ci}, tls_protocol, tls_cipher
  simple_requests  the same without file

(the columns of schemas/*.json; timestamp is a TIMESTAMPTZ and the session time zone is UTC). Example:

  linehaul query logs/*.log.gz "SELECT details.installer.name AS installer, count(*) AS downloads
      FROM file_downloads GROUP BY ALL ORDER BY downloads DESC LIMIT 5"

The daily tables that linehaul aggregate writes (DIR/downloads_daily.parquet, ...; give DIR or the files)
are tables of their own: downloads_daily, downloads_by_installer_daily, ... as in BigQuery.

The result prints as an aligned table, or with --json, --csv, --ndjson or --markdown. On files, --csv and
--ndjson are written by DuckDB itself and streamed (| head returns at once, memory stays bounded), --json
a batch of rows at a time; in CSV, records are a column per field with dotted names (details.installer.name),
lists JSON text. Options go before the files or after the SQL.

With --bigquery [PROJECT.]DATASET, the SQL runs on BigQuery (its dialect, GoogleSQL), where file_downloads
and simple_requests are the dataset's tables, with the same limits as stats: --max-bytes-billed, and
--dry-run to see what it would process and cost first. Filter on timestamp (the partitioning column):
BigQuery then reads only those days. Example:

  linehaul query --bigquery bigquery-public-data.pypi --dry-run "SELECT details.installer.name, COUNT(*)
      FROM file_downloads WHERE timestamp >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)
      AND project = 'requests' GROUP BY 1"

Exit status: 0, 1 when DuckDB or BigQuery refused the SQL (their message is printed), an input was
damaged or holds neither rows nor log lines, 2 on a usage error.
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "query",
        help="run SQL over the rows of log files, Parquet, NDJSON rows, or BigQuery",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parser, required=False)
    parser.add_argument(
        "sql", nargs="?", metavar="SQL", help="the query, over file_downloads and simple_requests (the last)"
    )
    add_output_arguments(parser)
    parser.add_argument(
        "--ndjson",
        action="store_true",
        help="print one JSON object a line (records as objects); written by DuckDB, streamed",
    )
    add_bigquery_arguments(parser)
    parser.set_defaults(run=_run)


def _sql(args: argparse.Namespace) -> str | None:
    """The SQL: the last argument (FILE... SQL); or what --bigquery took for a dataset when it was given
    alone before the SQL (a dataset name has no spaces)."""
    if args.sql is not None:
        return str(args.sql)
    if args.bigquery is not None and not args.files and any(space in args.bigquery for space in " \n\t"):
        sql, args.bigquery = args.bigquery, DEFAULT_DATASET
        return str(sql)
    return str(args.files.pop()) if args.files else None


def _run(args: argparse.Namespace) -> int:
    sql = _sql(args)
    if sql is None:
        print("linehaul query: give the SQL to run", file=sys.stderr)
        return 2
    if args.ndjson and (args.json or args.csv or args.markdown):
        print("linehaul query: --ndjson goes alone, without --json, --csv or --markdown", file=sys.stderr)
        return 2
    daily: dict[Any, list[str]] = {}
    if args.bigquery is None:  # issue 29: the daily tables linehaul aggregate writes, as tables of their own
        from linehaul.cli.aggregate_command import split_daily_inputs

        daily, args.files = split_daily_inputs(args.files)
    engine = _daily_alone() if daily and not args.files else open_source("query", args, Table.FILE_DOWNLOADS)
    if isinstance(engine, int):
        return engine
    if daily:
        from linehaul.cli.aggregate_command import attach_daily_views

        attach_daily_views(engine.connection, daily)  # type: ignore[union-attr]  # files: a Database
    with engine:
        try:
            if args.bigquery is None and (args.csv or args.ndjson or args.json):
                _export(engine, sql, args)  # type: ignore[arg-type]  # files: a Database
                return 1 if engine.failures else 0
            result = engine.query(sql)
        except QueryError as error:
            return say_query_error("query", error, args)
        if args.dry_run:
            print_dry_runs(engine, args.price_per_tib)
            return 0
    if args.json:
        _write_json(dict(zip(result.columns, row, strict=True)) for row in result.rows)
    elif args.ndjson:
        for row in result.rows:
            print(json.dumps(json_value(dict(zip(result.columns, row, strict=True))), ensure_ascii=False))
    elif args.csv:
        columns, rows = flat_rows(result.columns, result.rows)
        sys.stdout.write(render_csv(columns, rows))
    elif args.markdown:
        print(render_markdown(result.columns, result.rows))
    elif result.columns:
        print(render_table(result.columns, result.rows))
        print(f"({len(result.rows)} row{'' if len(result.rows) == 1 else 's'})")
    return 1 if engine.failures else 0


def _daily_alone() -> Database:
    """A database of no rows, for the daily tables given alone (their views are added to it)."""
    from linehaul.analysis.database import Database

    return Database({})


def _export(database: Database, sql: str, args: argparse.Namespace) -> None:
    """The result on files, streamed: CSV and NDJSON written by DuckDB, JSON a batch of rows at a time."""
    from linehaul.analysis.exports import Export, export

    if args.json:
        _write_json(database.stream(sql))
        return
    sys.stdout.flush()
    export(database.connection, sql, Export.NDJSON if args.ndjson else Export.CSV, _stdout())


def _stdout() -> Callable[[bytes], None]:
    """A writer of bytes to standard output: its file descriptor, or (a stream of Python's, in tests)
    its text, decoded as it comes."""
    from linehaul.analysis.exports import write_to

    try:
        return write_to(sys.stdout.fileno())
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

        def write(chunk: bytes) -> None:
            sys.stdout.write(decoder.decode(chunk))

        return write


def _write_json(records: Iterable[dict[str, Any]]) -> None:
    """A JSON array of ``records``, as ``json.dumps(..., indent=2)`` prints it, written as they come."""
    first = True
    for record in records:
        text = json.dumps(json_value(record), indent=2, ensure_ascii=False).replace("\n", "\n  ")
        sys.stdout.write(("[\n  " if first else ",\n  ") + text)
        first = False
    sys.stdout.write("[]\n" if first else "\n]\n")
