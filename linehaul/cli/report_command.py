"""``linehaul report``: one self-contained HTML page of charts about the downloads in log files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from linehaul.analysis.errors import QueryError
from linehaul.cli.inputs import add_input_arguments, add_selection_arguments, open_logs, selection

__all__ = ["register"]

_DESCRIPTION = """\
Write one HTML page with charts of the downloads: over time, installers, Python versions, operating
systems, the share from CI, countries and the top projects; with --project, a page about those projects
(their versions instead of the top projects). Every figure is for the rows selected (projects, window,
mirrors, --where); an empty selection says which days the data covers. The page is self-contained
(inline CSS and SVG, no JavaScript, nothing fetched): open it in any browser, offline.
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "report",
        help="write an HTML report with charts",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parser)
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="FILE", help="the HTML file to write"
    )
    parser.add_argument(
        "--title", help="the page's title (default: PyPI downloads, or the projects' names and downloads)"
    )
    add_selection_arguments(parser)
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    chosen = selection("report", args)
    if chosen is None:
        return 2
    database = open_logs("report", args)
    if isinstance(database, int):
        return database
    from linehaul.analysis.report import write_report

    with database:
        try:
            title = args.title or (", ".join(chosen.projects) + ": downloads" if chosen.projects else None)
            data = write_report(database, args.output, title=title or "PyPI downloads", selection=chosen)
        except OSError as error:
            print(f"linehaul report: cannot write {args.output}: {error.strerror or error}", file=sys.stderr)
            return 1
        except QueryError as error:  # a --where that DuckDB refused
            print(f"linehaul report: DuckDB says: {error}", file=sys.stderr)
            return 1
    print(f"wrote {args.output}: {data.downloads} downloads, {len(data.over_time)} {data.bucket}s")
    return 1 if database.failures else 0
