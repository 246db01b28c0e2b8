"""``linehaul query``: SQL over the rows of log files (DuckDB), printed as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from linehaul.analysis.errors import QueryError
from linehaul.cli.inputs import add_input_arguments, open_logs
from linehaul.cli.stats_command import add_output_arguments
from linehaul.cli.tables import json_value, render_csv, render_markdown, render_table

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

The result prints as an aligned table, or with --json, --csv or --markdown. Options go before the files
or after the SQL. Exit status: 0, 1 when DuckDB refused the SQL (its message is printed), an input was
damaged or holds neither rows nor log lines, 2 on a usage error.
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "query",
        help="run SQL over the rows of log files",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parser)
    parser.add_argument("sql", metavar="SQL", help="the query, over file_downloads and simple_requests")
    add_output_arguments(parser)
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    database = open_logs("query", args)
    if isinstance(database, int):
        return database
    with database:
        try:
            result = database.query(args.sql)
        except QueryError as error:
            print(f"linehaul query: DuckDB says: {error}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps([json_value(record) for record in result.records()], indent=2, ensure_ascii=False))
    elif args.csv:
        sys.stdout.write(render_csv(result.columns, result.rows))
    elif args.markdown:
        print(render_markdown(result.columns, result.rows))
    elif result.columns:
        print(render_table(result.columns, result.rows))
        print(f"({len(result.rows)} row{'' if len(result.rows) == 1 else 's'})")
    return 1 if database.failures else 0
