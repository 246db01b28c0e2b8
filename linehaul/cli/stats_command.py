"""``linehaul stats``: downloads (or simple requests) counted by one field, as a table with shares or JSON."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any

from linehaul.analysis.errors import UnknownFieldError
from linehaul.analysis.stats import STATS_FIELDS, check_field
from linehaul.cli.inputs import (
    add_input_arguments,
    add_window_arguments,
    open_logs,
    time_window,
    whole_number,
)
from linehaul.cli.tables import render_table
from linehaul.tables import Table

__all__ = ["register"]

_DESCRIPTION = f"""\
Count the downloads in log files by one field, most frequent first (by date for day), with each value's
share of all the downloads in the period. --simple counts simple-index requests instead.

{textwrap.fill("Fields: " + ", ".join(STATS_FIELDS) + ".", 100)}
python is major.minor (3.12); day is the UTC day; ci is true, false or none (not reported).
A value of (none) means the row has no such value (an unknown user agent has no installer).

--json prints [{{"FIELD": value, "count": n}}, ...] (null for none). Exit status: 0, 1 when a file was
damaged (its lines before the damage still count), 2 on a usage error.
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "stats",
        help="count downloads by project, installer, Python, system, CI, day, ...",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parser)
    parser.add_argument("--by", required=True, metavar="FIELD", help="what to count by (see above)")
    parser.add_argument(
        "--top",
        type=whole_number(0, " (0: all)"),
        default=20,
        metavar="N",
        help="show the N first values (default 20; 0: all)",
    )
    add_window_arguments(parser)
    parser.add_argument("--simple", action="store_true", help="count simple-index requests, not downloads")
    parser.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    table = Table.SIMPLE_REQUESTS if args.simple else Table.FILE_DOWNLOADS
    try:
        check_field(args.by, table)
    except UnknownFieldError as error:
        print(f"linehaul stats: --by: {error}", file=sys.stderr)
        return 2
    window = time_window("stats", args)
    if window is None:
        return 2
    database = open_logs("stats", args)
    if isinstance(database, int):
        return database
    from linehaul.analysis.stats import count_by

    with database:
        stats = count_by(database, args.by, table=table, top=args.top or None, window=window)
    if args.json:
        print(json.dumps(stats.records(), indent=2, ensure_ascii=False))
    else:
        noun = "requests" if args.simple else "downloads"
        rows = [[count.value, count.count, f"{100 * count.share:.1f}%"] for count in stats.counts]
        footer = ["total", stats.total, "100.0%"]
        text = render_table(
            [args.by, noun, "share"], rows, none="(none)", footer=footer, right=[False, True, True]
        )
        print(text)
        if stats.values > len(stats.counts):
            print(f"({stats.values - len(stats.counts)} more values: --top 0 shows all)")
    return 1 if database.failures else 0
