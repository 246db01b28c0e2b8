"""``linehaul report``: one self-contained HTML page of charts about the downloads in log files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from linehaul.analysis.errors import QueryError
from linehaul.cli.engines import (
    add_bigquery_arguments,
    open_source,
    print_dry_runs,
    say_query_error,
    say_what_was_read,
)
from linehaul.cli.inputs import add_input_arguments, add_selection_arguments, say_missing_projects, selection
from linehaul.logs.files import LogFileError
from linehaul.tables import Table

__all__ = ["register"]

_DESCRIPTION = """\
Write one HTML page with charts of the downloads: over time, installers, Python versions, operating
systems, the share from CI, countries and the top projects; with --project, a page about those projects
(their versions instead of the top projects). Every figure is for the rows selected (projects, window,
mirrors, --where, --installer, ...); an empty selection says which days the data covers, a project with no
row in the data is an error that names the closest names with rows. The page marks the days the data
covers in part (a log that starts late or ends early) and names the damaged inputs. The page is self-contained
(inline CSS and SVG, no JavaScript, nothing fetched): open it in any browser, offline. With --bigquery,
the figures come from BigQuery (a dozen queries, each within --max-bytes-billed; --dry-run prices them).
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "report",
        help="write an HTML report with charts",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parser, required=False)
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="FILE", help="the HTML file to write"
    )
    parser.add_argument(
        "--title", help="the page's title (default: PyPI downloads, or the projects' names and downloads)"
    )
    add_selection_arguments(parser, where_dialect="DuckDB's, or BigQuery's with --bigquery")
    add_bigquery_arguments(parser)
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    chosen = selection("report", args)
    if chosen is None:
        return 2
    engine = open_source("report", args, Table.FILE_DOWNLOADS)
    if isinstance(engine, int):
        return engine
    from linehaul.analysis.report import gather_report
    from linehaul.analysis.report_page import render_report

    title = args.title or (
        ", ".join(chosen.projects) + ": downloads" if chosen.projects else "PyPI downloads"
    )
    with engine:
        try:
            data = gather_report(engine, title=title, selection=chosen)
            if args.dry_run:
                print_dry_runs(engine, args.price_per_tib)
                return 0
            if say_missing_projects("report", engine, Table.FILE_DOWNLOADS, data.selection, data.downloads):
                return 1
        except QueryError as error:  # a --where the engine refused, BigQuery's limits
            return say_query_error("report", error, args)
        except LogFileError as error:  # read again for the closest names, and gone since
            print(f"linehaul report: {error}", file=sys.stderr)
            return 1
        try:
            args.output.write_text(render_report(data), encoding="utf-8")
        except OSError as error:
            print(f"linehaul report: cannot write {args.output}: {error.strerror or error}", file=sys.stderr)
            return 1
    print(f"wrote {args.output}: {data.downloads} downloads, {len(data.over_time)} {data.bucket}s")
    say_what_was_read("report", engine)
    return 1 if engine.failures else 0
