"""``linehaul stats``: downloads (or simple requests) counted by one field or several, for some projects,
in a window, with or without mirrors; as a table with shares, JSON, CSV or Markdown."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from linehaul.analysis.errors import QueryError, UnknownFieldError
from linehaul.analysis.fields import FIELDS, check_fields
from linehaul.cli.inputs import (
    add_input_arguments,
    add_selection_arguments,
    selection,
    whole_number,
)
from linehaul.cli.tables import render_csv, render_markdown, render_table
from linehaul.cli.warehouse import add_bigquery_arguments, open_source, print_dry_runs, say_query_error
from linehaul.logs.files import LogFileError
from linehaul.tables import Table

if TYPE_CHECKING:
    from linehaul.analysis.stats import Stats

__all__ = ["add_output_arguments", "print_stats", "register"]

_FIELD_LINES = "\n".join(f"  {field.name:<24}{field.description}" for field in FIELDS.values())

_DESCRIPTION = f"""\
Count the downloads by one field or several (--by installer,python), most frequent first (days, months
and years in time order), with each group's share of all the downloads selected. --simple counts
simple-index requests instead. --pivot spreads one more field into columns. On logs, --project (without
--days or --where) converts only the lines that may hold those projects' rows: several times faster, the
same counts.

Fields:
{_FIELD_LINES}
Versions (python, version, *_version, system_release, openssl) sort as versions with --order value:
3.8 before 3.10. A value of (none) means the row has no such value (an unknown user agent has no installer).

--json prints [{{"FIELD": value, ..., "count": n, "share": 0.25}}, ...] (null for none; with --pivot,
"PIVOT": {{"value": n, ...}}); --csv and --markdown print the table. Exit status: 0, 1 when an input was
damaged (its lines before the damage still count) or holds neither rows nor log lines, 2 on a usage error.
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "stats",
        help="count downloads by project, installer, Python, system, CI, day, ...",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parser, required=False)
    add_counting_arguments(parser)
    add_selection_arguments(parser, where_dialect="DuckDB's, or BigQuery's with --bigquery")
    add_output_arguments(parser)
    add_bigquery_arguments(parser)
    parser.set_defaults(run=_run)


def add_counting_arguments(parser: argparse.ArgumentParser) -> None:
    """--by, --pivot, --top, --order, --simple."""
    group = parser.add_argument_group("what to count")
    group.add_argument(
        "--by",
        action="append",
        required=True,
        metavar="FIELD[,FIELD...]",
        help="what to count by (see above); several fields: --by installer,python or --by repeated",
    )
    group.add_argument("--pivot", metavar="FIELD", help="spread this field's values into columns")
    group.add_argument(
        "--top",
        type=whole_number(0, " (0: all)"),
        default=20,
        metavar="N",
        help="show the N first groups (default 20; 0: all)",
    )
    group.add_argument(
        "--order",
        choices=("count", "value"),
        help="most frequent first (the default), or by the fields' values",
    )
    group.add_argument("--simple", action="store_true", help="count simple-index requests, not downloads")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """--json, --csv, --markdown (one of them; the default is an aligned table)."""
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print a JSON array of objects")
    output.add_argument("--csv", action="store_true", help="print CSV with a header line")
    output.add_argument("--markdown", action="store_true", help="print a Markdown table")


def checked_fields(command: str, args: argparse.Namespace) -> tuple[str, ...] | None:
    """The --by fields (and --pivot) of ``args``, or None after naming on stderr the one that is wrong."""
    from linehaul.analysis.stats import split_fields

    table = Table.SIMPLE_REQUESTS if args.simple else Table.FILE_DOWNLOADS
    fields = split_fields(args.by)
    try:
        check_fields([*fields, *([args.pivot] if args.pivot else [])], table)
    except UnknownFieldError as error:
        print(f"linehaul {command}: --by: {error}", file=sys.stderr)
        return None
    if not [field for field in fields if field != args.pivot]:
        print(f"linehaul {command}: --pivot {args.pivot}: also give a field to count by", file=sys.stderr)
        return None
    return fields


def _run(args: argparse.Namespace) -> int:
    fields = checked_fields("stats", args)
    chosen = selection("stats", args)
    if fields is None or chosen is None:
        return 2
    table = Table.SIMPLE_REQUESTS if args.simple else Table.FILE_DOWNLOADS
    # A question about some projects reads only their rows of logs (linehaul.logs.narrow), unless its
    # window counts days back from the last day of all the rows (which would have them all read anyway)
    # or it has a --where: SQL, which may look at other rows (a subquery) or fail on one of them.
    narrowed = chosen.window.days is None and chosen.where is None
    engine = open_source("stats", args, table, chosen.projects if narrowed else ())
    if isinstance(engine, int):
        return engine
    from linehaul.analysis.stats import count_by

    with engine:
        try:
            stats = count_by(
                engine,
                fields,
                table=table,
                top=args.top or None,
                order=args.order,
                pivot=args.pivot,
                selection=chosen,
            )
            if args.dry_run:
                print_dry_runs(engine, args.price_per_tib)
                return 0
            if not stats.total:
                span = engine.data_span(table)
                covers = f"the data covers {span.first} to {span.last}" if span else "there is no such row"
                print(f"linehaul stats: no {table.value} row selected; {covers}", file=sys.stderr)
        except QueryError as error:  # a --where the engine refused, BigQuery's limits
            return say_query_error("stats", error, args)
        except LogFileError as error:  # read again for the days the data covers, and gone since
            print(f"linehaul stats: {error}", file=sys.stderr)
            return 1
    print_stats(stats, args)
    return 1 if engine.failures else 0


def print_stats(stats: Stats, args: argparse.Namespace) -> None:
    """Print ``stats`` as ``args`` asks: a table (the default), --json, --csv or --markdown."""
    from linehaul.analysis.stats import value_text

    if args.json:
        print(json.dumps(stats.records(), indent=2, ensure_ascii=False))
        return
    columns = [*stats.fields, *map(value_text, stats.columns)]
    if args.csv:
        rows = [[*count.values, *count.cells, count.count, round(count.share, 6)] for count in stats.counts]
        sys.stdout.write(render_csv([*columns, "count", "share"], rows))
        return
    noun = "requests" if stats.table is Table.SIMPLE_REQUESTS else "downloads"
    rows = [[*count.values, *count.cells, count.count, f"{100 * count.share:.1f}%"] for count in stats.counts]
    footer = ["total", *[""] * (len(columns) - 1), stats.total, "100.0%" if stats.total else "-"]
    right = [False] * len(stats.fields) + [True] * (len(stats.columns) + 2)
    render = render_markdown if args.markdown else render_table
    print(render([*columns, noun, "share"], rows, none="(none)", footer=footer, right=right))
    if not args.markdown and stats.groups > len(stats.counts):
        what = "values" if len(stats.fields) == 1 else "groups"
        print(f"({stats.groups - len(stats.counts)} more {what}: --top 0 shows all)")
