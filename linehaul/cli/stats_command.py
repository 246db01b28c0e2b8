"""``linehaul stats``: downloads (or simple requests) counted by one field or several, for some projects,
in a window, with or without mirrors; as a table with shares, JSON, CSV or Markdown."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from linehaul.analysis.dimensions import DIMENSIONS, check_dimensions
from linehaul.analysis.errors import QueryError, UnknownFieldError
from linehaul.cli.answers import Output, print_stats
from linehaul.cli.engines import (
    add_bigquery_arguments,
    open_source,
    print_dry_runs,
    say_query_error,
    say_what_was_read,
)
from linehaul.cli.inputs import (
    add_input_arguments,
    add_selection_arguments,
    say_missing_projects,
    selection,
    whole_number,
)
from linehaul.logs.files import LogFileError
from linehaul.tables import Table

__all__ = ["add_output_arguments", "output_form", "register"]

_FIELD_LINES = "\n".join(f"  {field.name:<24}{field.description}" for field in DIMENSIONS.values())

_DESCRIPTION = f"""\
Count the downloads by one field or several (--by installer,python), most frequent first (days, weeks,
months and years in time order, every one of them, those without rows as 0), with each group's share of
all the downloads selected; without --by, the total. --simple counts simple-index requests instead.
--pivot spreads one more field into columns (the most frequent first, the rest as "(others)"), with row
and column totals; --share shows its cells as shares of their row. The table shows --top groups (20 by
default); --csv, --json and --markdown give every one, unless --top is given. Below the table: the
window, the days of the rows selected and what the data covers, partial days (the data starts or ends
more than an hour into them) and damaged inputs. On logs, --project (without --days or --where) converts
only the lines that may hold those projects' rows: several times faster, the same counts. A project with
no row in the data is an error that names the closest names that have rows.

Fields:
{_FIELD_LINES}
Versions (python, version, *_version, system_release, openssl) sort as versions with --order value:
3.8 before 3.10. A value of (none) means the row has no such value (an unknown user agent has no installer).
--where takes SQL over the table's columns and these fields: --where "installer = 'pip' AND python >= '3.10'".

--json prints {{"window": {{...}}, "first_day": ..., "last_day": ..., "partial_days": [...], "damaged": [...],
"total": n, "groups": g, "rows": [{{"FIELD": value, ..., "count": n, "share": 0.25}}, ...]}} (null for none;
with --pivot, "columns" and "PIVOT": {{"value": n, ...}} in each row); --csv and --markdown print the table.
Exit status: 0; 1 when an input was damaged (its lines before the damage still count) or holds neither rows
nor log lines, or a project has no row; 2 on a usage error.
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "stats",
        help="count downloads by project, installer, Python, system, CI, day, week, ...",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_input_arguments(parser, required=False)
    add_counting_arguments(parser)
    add_selection_arguments(parser, where_dialect="DuckDB's, or BigQuery's with --bigquery")
    add_output_arguments(parser)
    add_bigquery_arguments(parser)
    parser.set_defaults(run=_run)


TABLE_TOP = 20
"""The groups the table shows when --top is not given (exports give every one)."""


def add_counting_arguments(parser: argparse.ArgumentParser) -> None:
    """--by, --pivot, --top, --order, --share, --simple."""
    group = parser.add_argument_group("what to count")
    group.add_argument(
        "--by",
        action="append",
        default=[],
        metavar="FIELD[,FIELD...]",
        help="what to count by (see above); several fields: --by installer,python or --by repeated; "
        "none: the total",
    )
    group.add_argument(
        "--pivot", metavar="FIELD", help="spread this field's values into columns, the most frequent first"
    )
    group.add_argument(
        "--top",
        type=whole_number(0, " (0: all)"),
        metavar="N",
        help=f"the N first groups (and pivot columns, the rest as others); 0: all (default: {TABLE_TOP} in "
        "the table, all in --csv, --json and --markdown)",
    )
    group.add_argument(
        "--order",
        choices=("count", "value"),
        help="most frequent first (the default), or by the fields' values",
    )
    group.add_argument("--share", action="store_true", help="with --pivot: cells as shares of their row")
    group.add_argument("--simple", action="store_true", help="count simple-index requests, not downloads")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """--json, --csv, --markdown (one of them; the default is an aligned table)."""
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON")
    output.add_argument("--csv", action="store_true", help="print CSV with a header line")
    output.add_argument("--markdown", action="store_true", help="print a Markdown table")


def output_form(args: argparse.Namespace) -> str:
    """``json``, ``csv``, ``markdown`` or ``table``, as the arguments ask."""
    return next((form for form in ("json", "csv", "markdown") if getattr(args, form)), "table")


def checked_fields(command: str, args: argparse.Namespace) -> tuple[str, ...] | None:
    """The --by fields (and --pivot) of ``args``, or None after naming on stderr the one that is wrong."""
    from linehaul.analysis.stats import split_fields

    table = Table.SIMPLE_REQUESTS if args.simple else Table.FILE_DOWNLOADS
    fields = split_fields(args.by)
    try:
        check_dimensions([*fields, *([args.pivot] if args.pivot else [])], table)
    except UnknownFieldError as error:
        print(f"linehaul {command}: --by: {error}", file=sys.stderr)
        return None
    if args.pivot and not [field for field in fields if field != args.pivot]:
        print(f"linehaul {command}: --pivot {args.pivot}: also give a field to count by", file=sys.stderr)
        return None
    if args.share and not args.pivot:
        print(
            f"linehaul {command}: --share goes with --pivot (the share column is always there)",
            file=sys.stderr,
        )
        return None
    return fields


def _top(args: argparse.Namespace) -> int | None:
    """The groups to give: --top (0: all), else 20 in the table and all in exports."""
    if args.top is not None:
        return args.top or None
    return TABLE_TOP if output_form(args) == "table" else None


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
    from linehaul.analysis.coverage import coverage_of
    from linehaul.analysis.stats import count_by

    with engine:
        try:
            stats = count_by(
                engine,
                fields,
                table=table,
                top=_top(args),
                order=args.order,
                pivot=args.pivot,
                selection=chosen,
            )
            if args.dry_run:
                print_dry_runs(engine, args.price_per_tib)
                return 0
            if say_missing_projects("stats", engine, table, stats.selection, stats.total):
                return 1
            coverage = coverage_of(engine, stats)
        except QueryError as error:  # a --where the engine refused, BigQuery's limits
            return say_query_error("stats", error, args)
        except LogFileError as error:  # read again for the closest names, and gone since
            print(f"linehaul stats: {error}", file=sys.stderr)
            return 1
    if not stats.total:
        covers = (
            f"the data covers {coverage.data.first} to {coverage.data.last}"
            if coverage.data
            else "there is no such row"
        )
        print(f"linehaul stats: no {table.value} row selected; {covers}", file=sys.stderr)
    print_stats(stats, coverage, Output(output_form(args), args.share))
    say_what_was_read("stats", engine)
    return 1 if engine.failures else 0
