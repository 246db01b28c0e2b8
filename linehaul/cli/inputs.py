"""What the commands that read logs share: input arguments, the check of the inputs, opening them, errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from linehaul.cli.progress import Progress
from linehaul.logs.files import LogFileError
from linehaul.tables import Table

if TYPE_CHECKING:  # they need the analysis extra: imported when a command runs
    from linehaul.analysis.database import Database
    from linehaul.analysis.engine import Engine
    from linehaul.analysis.selection import Selection

__all__ = [
    "add_input_arguments",
    "add_selection_arguments",
    "input_paths",
    "open_logs",
    "positive_int",
    "report_missing_extra",
    "say_missing_projects",
    "selection",
    "whole_number",
]


def whole_number(lowest: int, meaning: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``lowest`` (``meaning``: what that lowest one means)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"must be at least {lowest}{meaning}, not {value}")
        return value

    return parse


positive_int = whole_number(1)
"""An argparse type: a whole number of at least 1."""


def add_input_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """FILE... (one at least, unless not ``required``: with --bigquery), --jobs and --quiet."""
    parser.add_argument(
        "files",
        nargs="+" if required else "*",
        metavar="FILE",
        help="log files (.log, .log.gz), Parquet files or folders of linehaul parse, NDJSON row files "
        "(staged files, BigQuery exports), quoted globs ('logs/*.gz'), - for a log on stdin; told apart "
        "by content",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=positive_int,
        default=1,
        metavar="N",
        help="convert on N processes, over files and over blocks of a big file (default 1)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress line on a terminal (there is none when piped)"
    )


def input_paths(command: str, patterns: Sequence[str]) -> list[str] | None:
    """The files to read (a folder gives the table files ``linehaul parse`` writes into one), or None
    after naming on stderr every pattern, file or folder that is not readable."""
    from linehaul.analysis.inputs import expand_inputs

    paths: list[str] = []
    problems: list[LogFileError] = []
    for pattern in patterns:
        try:
            found = expand_inputs([pattern])
        except LogFileError as error:
            problems.append(error)
            continue
        paths += [path for path in found if path not in paths]
    for problem in problems:
        print(f"linehaul {command}: {problem}", file=sys.stderr)
    return None if problems else paths


def report_missing_extra(command: str, error: ImportError) -> int:
    """Say which extra to install; the exit status for it."""
    print(f"linehaul {command}: {error}", file=sys.stderr)
    return 1


def open_logs(command: str, args: argparse.Namespace, projects: Sequence[str] = ()) -> Database | int:
    """The database over ``args.files`` (logs, Parquet, NDJSON rows; a progress line on a terminal), or
    the exit status after saying on stderr what went wrong: 2 for a missing file or rows given beside the
    log they were written from, 1 for one that holds neither rows nor log lines. An input given twice
    (the same file, bytes or log lines) is read once, said on stderr. Damaged logs are named on stderr;
    their readable rows are kept. With ``projects``, the logs give only those projects' rows, much faster
    (for a question about them)."""
    paths = input_paths(command, args.files)
    if paths is None:
        return 2
    from linehaul.analysis.errors import MissingExtraError

    progress = Progress.on_terminal(files=len(paths), quiet=args.quiet)
    try:
        from linehaul.analysis.database import open_database

        database = open_database(
            paths, jobs=args.jobs, keep_going=True, progress=progress.update, projects=projects
        )
    except MissingExtraError as error:
        return report_missing_extra(command, error)
    except LogFileError as error:
        from linehaul.analysis.overlaps import OverlapError

        print(f"linehaul {command}: {error}", file=sys.stderr)
        return 2 if isinstance(error, OverlapError) else 1
    finally:
        progress.finish()
    for duplicate in database.duplicates:
        print(f"linehaul {command}: {duplicate}", file=sys.stderr)
    for failure in database.failures:
        print(f"linehaul {command}: {failure} (its lines before the damage are counted)", file=sys.stderr)
    internal = database.counts.internal_errors_message()
    if internal is not None:
        print(f"linehaul {command}: {internal}", file=sys.stderr)
    return database


def parse_day(text: str) -> date:
    """An argparse type: a UTC day, YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_selection_arguments(parser: argparse.ArgumentParser, *, where_dialect: str = "DuckDB's") -> None:
    """--project, --where, --installer, --python, --system, --country, --exclude-mirrors or --mirrors-only,
    and --since/--until, --days or --month."""
    group = parser.add_argument_group("which rows")
    group.add_argument(
        "--project",
        action="append",
        default=[],
        metavar="NAME",
        help="only this project (repeat for several); Django, django and DJANGO match (PEP 503 names)",
    )
    group.add_argument(
        "--where",
        metavar="EXPR",
        help=f"only rows where this SQL expression holds, over the table's columns and the fields of --by "
        f"({where_dialect} dialect; it is run as SQL, as written: e.g. \"installer = 'pip' AND "
        "installer_version LIKE '24.%%'\")",
    )
    for name, example in (("installer", "pip"), ("python", "3.12"), ("system", "Linux"), ("country", "US")):
        group.add_argument(
            f"--{name}",
            action="append",
            default=[],
            metavar=name.upper(),
            help=f"only rows whose {name} (as --by {name} shows it) is this, in any case, e.g. {example}; "
            "repeat for several",
        )
    mirrors = group.add_mutually_exclusive_group()
    mirrors.add_argument(
        "--exclude-mirrors",
        action="store_true",
        help="leave out mirroring tools (bandersnatch, z3c.pypimirror, Artifactory, devpi, Nexus, "
        "pep381client); rows without an installer are kept",
    )
    mirrors.add_argument("--mirrors-only", action="store_true", help="only the rows of mirroring tools")
    group.add_argument("--since", type=parse_day, metavar="DATE", help="from this UTC day on (YYYY-MM-DD)")
    group.add_argument("--until", type=parse_day, metavar="DATE", help="up to this UTC day, included")
    group.add_argument(
        "--days", type=positive_int, metavar="N", help="the N days up to the last day in the data"
    )
    group.add_argument("--month", metavar="YYYY-MM", help="the days of this month")


def selection(command: str, args: argparse.Namespace) -> Selection | None:
    """The selection of the arguments, or None after saying on stderr what is wrong with them."""
    from linehaul.analysis.selection import FILTERS, Mirrors, Selection, TimeWindow, check_project_name

    try:
        for project in args.project:
            try:
                check_project_name(project)
            except ValueError as error:
                raise ValueError(f"--project: {error}") from None
        if args.month is not None:
            if args.since or args.until or args.days:
                raise ValueError("--month cannot be combined with --since, --until or --days")
            window = TimeWindow.of_month(args.month)
        else:
            window = TimeWindow(args.since, args.until, args.days)
        mirrors = (
            Mirrors.EXCLUDE
            if args.exclude_mirrors
            else Mirrors.ONLY
            if args.mirrors_only
            else Mirrors.INCLUDE
        )
        filters = tuple((name, tuple(getattr(args, name))) for name in FILTERS if getattr(args, name))
        return Selection(tuple(args.project), args.where, mirrors, window, filters)
    except ValueError as error:
        print(f"linehaul {command}: {error}", file=sys.stderr)
        return None


def say_missing_projects(
    command: str, engine: Engine, table: Table, chosen: Selection, selected: int
) -> bool:
    """Whether a project of ``chosen`` has no row in the data (a typo, most likely), said on stderr with its
    closest names that have rows. Asked when ``selected`` (the rows the question selected) is 0 or when
    several projects were given (one of them may have no row)."""
    from linehaul.analysis.projects import missing_projects

    if not chosen.projects or (selected and len(chosen.projects) == 1):
        return False
    if getattr(engine, "dry_run", False):  # a dry run has no rows to look at
        return False
    missing = missing_projects(engine, table, chosen)
    noun = "simple request" if table is Table.SIMPLE_REQUESTS else "download"
    where = "in the data" if engine.default_window.is_whole else f"in {chosen.window.describe()}"
    for project in missing:
        closest = ", ".join(f"{name} ({count:,})" for name, count in project.closest)
        print(
            f"linehaul {command}: --project {project.name}: no {noun} of it {where}; "
            + (
                f"the closest names with rows: {closest}"
                if closest
                else "no name close to it has rows either"
            ),
            file=sys.stderr,
        )
    return bool(missing)
