"""``linehaul schema apply``: create the dataset and both tables from schemas/, or evolve them safely."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from linehaul.tables import Table

__all__ = ["register"]

_DESCRIPTION = """\
Create DATASET and the tables file_downloads and simple_requests from schemas/ (partitioned by day on
timestamp, clustered on project) and the daily tables the publisher keeps beside them (downloads_daily and
downloads_by_<field>_daily, partitioned by day on date, clustered on project), or bring existing tables up
to date. Only compatible changes are made:
new NULLABLE columns and REQUIRED columns relaxed to NULLABLE. A removed column, a type change or any
other mode change is refused with a precise message and nothing is changed.

Set BIGQUERY_EMULATOR_HOST (e.g. http://127.0.0.1:9050) to work on a local emulator.
Exit status: 0 when every table matches the schemas, 1 when a change was refused or failed.
"""


def register(commands: Any) -> None:
    schema = commands.add_parser("schema", help="create or evolve the BigQuery tables")
    actions = schema.add_subparsers(dest="action", required=True, metavar="ACTION")
    apply = actions.add_parser(
        "apply",
        help="create the dataset and tables, or apply compatible schema changes",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    apply.add_argument("--project", required=True, help="the Google Cloud project")
    apply.add_argument("--dataset", required=True, help="the dataset (created if missing)")
    for option, table in (
        ("--downloads-table", Table.FILE_DOWNLOADS),
        ("--simple-table", Table.SIMPLE_REQUESTS),
    ):
        apply.add_argument(option, default=table.value, help=f"default: {table.value}")
    apply.add_argument(
        "--no-daily", action="store_true", help="leave out the daily tables (downloads_daily, ...)"
    )
    apply.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        from linehaul.gcp import BigQueryAdmin, BigQueryAdminError, bigquery_client
        from linehaul.gcp.schema_apply import apply_schemas
    except ImportError:
        print("linehaul schema: needs the gcp extra: pip install 'linehaul[gcp]'", file=sys.stderr)
        return 1
    admin = BigQueryAdmin(bigquery_client(args.project))
    tables = {Table.FILE_DOWNLOADS: args.downloads_table, Table.SIMPLE_REQUESTS: args.simple_table}
    try:
        outcomes = apply_schemas(admin, args.project, args.dataset, tables, daily=not args.no_daily)
    except BigQueryAdminError as error:
        print(f"linehaul schema: {error}", file=sys.stderr)
        return 1
    for outcome in outcomes:
        print(outcome.line(), file=sys.stderr if outcome.action == "refused" else sys.stdout)
    return 1 if any(outcome.action == "refused" for outcome in outcomes) else 0
