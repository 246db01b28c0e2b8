"""``linehaul report``: one self-contained HTML page of charts about the downloads in log files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from linehaul.cli.inputs import add_input_arguments, add_window_arguments, open_logs, time_window

__all__ = ["register"]

_DESCRIPTION = """\
Write one HTML page with charts of the downloads in log files: downloads over time, installers, Python
versions, operating systems, the share from CI and the top projects, with the counts of lines read,
rejected and ignored. The page is self-contained (inline CSS and SVG, no JavaScript, nothing fetched):
open it in any browser, offline.
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
        "--title", default="PyPI downloads", help="the page's title (default: PyPI downloads)"
    )
    add_window_arguments(parser)
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    window = time_window("report", args)
    if window is None:
        return 2
    database = open_logs("report", args)
    if isinstance(database, int):
        return database
    from linehaul.analysis.report import write_report

    with database:
        try:
            data = write_report(database, args.output, title=args.title, window=window)
        except OSError as error:
            print(f"linehaul report: cannot write {args.output}: {error.strerror or error}", file=sys.stderr)
            return 1
    print(f"wrote {args.output}: {data.installers.total} downloads, {len(data.over_time)} {data.bucket}s")
    return 1 if database.failures else 0
